package org.frontline.projects;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.LocalDate;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The arithmetic on the Jianghai Avenue east extension case, on fixed dates. */
class MilestoneFiguresTest {
  /** 2.98 km of elevated road within 9 months: 2026-03-01 to 2026-12-01 (275 days). */
  static final MilestoneFigures.Baseline ROAD = new MilestoneFigures.Baseline(new BigDecimal("2.98"),
      LocalDate.parse("2026-03-01"), LocalDate.parse("2026-12-01"));
  static final List<MilestoneFigures.Progress> ROAD_PROGRESS = List.of(
      new MilestoneFigures.Progress(LocalDate.parse("2026-06-01"), new BigDecimal("0.80")),
      new MilestoneFigures.Progress(LocalDate.parse("2026-07-05"), new BigDecimal("1.10")),
      new MilestoneFigures.Progress(LocalDate.parse("2026-07-19"), new BigDecimal("1.31")));
  /** 10,000 trees relocated in the first three months: 2026-03-01 to 2026-05-31 (91 days). */
  static final MilestoneFigures.Baseline TREES = new MilestoneFigures.Baseline(new BigDecimal("10000"),
      LocalDate.parse("2026-03-01"), LocalDate.parse("2026-05-31"));
  static final List<MilestoneFigures.Progress> TREE_PROGRESS = List.of(
      new MilestoneFigures.Progress(LocalDate.parse("2026-04-01"), new BigDecimal("3000")),
      new MilestoneFigures.Progress(LocalDate.parse("2026-04-15"), new BigDecimal("4200")));

  @Test
  void theRoadSlipsAndIsForecastFromTheLastFourteenDays() {
    // 140 of 275 days: planned 2.98 * 140 / 275 = 1.517091; actual 1.31; rate (1.31 - 1.10) / 14 = 0.015 km/day;
    // the remaining 1.67 km take 111.33 -> 112 days: 2026-11-08.
    MilestoneFigures.Figures f = MilestoneFigures.compute(ROAD, ROAD_PROGRESS, LocalDate.parse("2026-07-19"));
    assertThat(f.actual()).isEqualByComparingTo("1.310");
    assertThat(f.percentComplete()).isEqualByComparingTo("43.96");
    assertThat(f.plannedToDate()).isEqualByComparingTo("1.517");
    assertThat(f.plannedPercentToDate()).isEqualByComparingTo("50.91");
    assertThat(f.slippage()).isEqualByComparingTo("0.207");
    assertThat(f.slippagePercent()).isEqualByComparingTo("6.95");
    assertThat(f.ratePerDay()).isEqualByComparingTo("0.015");
    assertThat(f.forecastFinish()).isEqualTo(LocalDate.parse("2026-11-08"));
    assertThat(f.completed()).isFalse();
    assertThat(f.overdue()).isFalse();
  }

  @Test
  void theTreesAreBehindAndForecastPastTheirDueDate() {
    // 45 of 91 days: 4945.055 planned, 4200 done; 1200 in 14 days = 85.714/day; 5800 left: 67.67 -> 68 days.
    MilestoneFigures.Figures f = MilestoneFigures.compute(TREES, TREE_PROGRESS, LocalDate.parse("2026-04-15"));
    assertThat(f.percentComplete()).isEqualByComparingTo("42.00");
    assertThat(f.plannedToDate()).isEqualByComparingTo("4945.055");
    assertThat(f.slippage()).isEqualByComparingTo("745.055");
    assertThat(f.slippagePercent()).isEqualByComparingTo("7.45");
    assertThat(f.ratePerDay()).isEqualByComparingTo("85.714");
    assertThat(f.forecastFinish()).isEqualTo(LocalDate.parse("2026-06-22"));
  }

  @Test
  void aForecastPastTheYear9999IsNoneRatherThanAFailure() {
    // 1e15 km planned, 0.001 km done in the last 14 days: the rest would take about 1.4e19 days, more than a long
    // and far past 9999-12-31 (the last day an RFC 3339 date can name). This threw, and every read of the
    // milestone, its project, the figures and the record watch with it, answered 500.
    MilestoneFigures.Baseline huge = new MilestoneFigures.Baseline(new BigDecimal("1000000000000000"),
        LocalDate.parse("2026-01-01"), LocalDate.parse("2027-12-31"));
    MilestoneFigures.Figures f = MilestoneFigures.compute(huge,
        List.of(new MilestoneFigures.Progress(LocalDate.parse("2026-07-19"), new BigDecimal("0.001"))),
        LocalDate.parse("2026-07-19"));
    assertThat(f.ratePerDay()).isNotNull();
    assertThat(f.forecastFinish()).isNull();
    // A million km at 0.001 km a fortnight: year 38 million, a day LocalDate holds but no date-time format does.
    MilestoneFigures.Baseline million = new MilestoneFigures.Baseline(new BigDecimal("1000000"),
        LocalDate.parse("2026-01-01"), LocalDate.parse("2027-12-31"));
    assertThat(MilestoneFigures.compute(million,
        List.of(new MilestoneFigures.Progress(LocalDate.parse("2026-07-19"), new BigDecimal("0.001"))),
        LocalDate.parse("2026-07-19")).forecastFinish()).isNull();
    // The last representable day is still forecast: 1 left at 1 a day from 9999-12-30.
    MilestoneFigures.Baseline late = new MilestoneFigures.Baseline(new BigDecimal("15"),
        LocalDate.parse("9999-01-01"), LocalDate.parse("9999-12-31"));
    assertThat(MilestoneFigures.compute(late, List.of(
            new MilestoneFigures.Progress(LocalDate.parse("9999-12-16"), BigDecimal.ZERO),
            new MilestoneFigures.Progress(LocalDate.parse("9999-12-30"), new BigDecimal("14"))),
        LocalDate.parse("9999-12-30")).forecastFinish()).isEqualTo(LocalDate.parse("9999-12-31"));
  }

  @Test
  void beforeTheStartNothingIsPlannedAndAfterTheDueDateEverything() {
    assertThat(MilestoneFigures.plannedOn(TREES, LocalDate.parse("2026-02-20"))).isEqualByComparingTo("0");
    assertThat(MilestoneFigures.plannedOn(TREES, LocalDate.parse("2026-03-01"))).isEqualByComparingTo("0");
    assertThat(MilestoneFigures.plannedOn(TREES, LocalDate.parse("2026-07-01"))).isEqualByComparingTo("10000");
    // Past due and not done: overdue, and ahead of plan is negative slippage.
    MilestoneFigures.Figures late = MilestoneFigures.compute(TREES, TREE_PROGRESS, LocalDate.parse("2026-06-10"));
    assertThat(late.overdue()).isTrue();
    assertThat(late.slippage()).isEqualByComparingTo("5800.000");
    // No progress in the last 14 days: no rate, no forecast.
    assertThat(late.ratePerDay()).isEqualByComparingTo("0");
    assertThat(late.forecastFinish()).isNull();
  }

  @Test
  void aCompletedMilestoneIsForecastOnTheDayItWasReached() {
    List<MilestoneFigures.Progress> done = List.of(
        new MilestoneFigures.Progress(LocalDate.parse("2026-05-20"), new BigDecimal("10000")),
        new MilestoneFigures.Progress(LocalDate.parse("2026-05-25"), new BigDecimal("10120")));
    MilestoneFigures.Figures f = MilestoneFigures.compute(TREES, done, LocalDate.parse("2026-05-26"));
    assertThat(f.completed()).isTrue();
    assertThat(f.percentComplete()).isEqualByComparingTo("101.20");
    assertThat(f.forecastFinish()).isEqualTo(LocalDate.parse("2026-05-20"));
    assertThat(f.slippage()).isEqualByComparingTo("-669.451"); // 10000 * 86 / 91 - 10120;
  }

  @Test
  void theSCurveHasOneRowPerIsoWeekWithActualsUpToToday() {
    MilestoneFigures.Curve curve = MilestoneFigures.sCurve(TREES, TREE_PROGRESS, LocalDate.parse("2026-04-15"),
        MilestoneFigures.MAX_WEEKS);
    assertThat(curve.everyWeeks()).isEqualTo(1);
    List<MilestoneFigures.Week> weeks = curve.weeks();
    // 2026-03-01 (a Sunday, W09) to 2026-05-31 (a Sunday, W22): 14 weeks.
    assertThat(weeks).hasSize(14);
    assertThat(weeks.get(0)).isEqualTo(new MilestoneFigures.Week("2026-W09", LocalDate.parse("2026-03-01"),
        new BigDecimal("0.000"), new BigDecimal("0.000")));
    assertThat(weeks.get(1)).isEqualTo(new MilestoneFigures.Week("2026-W10", LocalDate.parse("2026-03-08"),
        new BigDecimal("769.231"), new BigDecimal("0.000")));
    assertThat(weeks.get(5)).isEqualTo(new MilestoneFigures.Week("2026-W14", LocalDate.parse("2026-04-05"),
        new BigDecimal("3846.154"), new BigDecimal("3000.000")));
    // The current week (2026-04-13 to 19): actual as of today.
    assertThat(weeks.get(7)).isEqualTo(new MilestoneFigures.Week("2026-W16", LocalDate.parse("2026-04-19"),
        new BigDecimal("5384.615"), new BigDecimal("4200.000")));
    assertThat(weeks.get(8).actual()).isNull();
    assertThat(weeks.get(13)).isEqualTo(new MilestoneFigures.Week("2026-W22", LocalDate.parse("2026-05-31"),
        new BigDecimal("10000.000"), null));
  }

  @Test
  void aCurveOfMoreWeeksThanAllowedIsSampledFromTheFirstWeekAndKeepsTheLast() {
    // 14 weeks in at most 5 points: every 4th week from the first (W09, W13, W17, W21) and the last (W22).
    MilestoneFigures.Curve curve = MilestoneFigures.sCurve(TREES, TREE_PROGRESS, LocalDate.parse("2026-04-15"), 5);
    assertThat(curve.everyWeeks()).isEqualTo(4);
    assertThat(curve.weeks().stream().map(MilestoneFigures.Week::isoWeek))
        .containsExactly("2026-W09", "2026-W13", "2026-W17", "2026-W21", "2026-W22");
    // Each point is the week's own figures: the same as in the full curve.
    List<MilestoneFigures.Week> full = MilestoneFigures.sCurve(TREES, TREE_PROGRESS, LocalDate.parse("2026-04-15"),
        MilestoneFigures.MAX_WEEKS).weeks();
    assertThat(curve.weeks()).containsExactly(full.get(0), full.get(4), full.get(8), full.get(12), full.get(13));
    // 14 weeks in at most 14 points are every week.
    assertThat(MilestoneFigures.sCurve(TREES, TREE_PROGRESS, LocalDate.parse("2026-04-15"), 14).weeks()).isEqualTo(full);
  }

  @Test
  void theWeeksOfAnAnswerAreSharedBetweenItsMilestonesWithinBounds() {
    assertThat(MilestoneFigures.weeksEach(0)).isEqualTo(MilestoneFigures.MAX_WEEKS);
    assertThat(MilestoneFigures.weeksEach(10)).isEqualTo(MilestoneFigures.MAX_WEEKS);
    assertThat(MilestoneFigures.weeksEach(20)).isEqualTo(290);
    assertThat(MilestoneFigures.weeksEach(1_000)).isEqualTo(MilestoneFigures.MIN_WEEKS);
  }
}
