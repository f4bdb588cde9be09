package org.frontline.projects;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.time.DayOfWeek;
import java.time.LocalDate;
import java.time.temporal.ChronoUnit;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.List;

/**
 * The figures of one milestone on a given day, from its current baseline and its progress history: pure arithmetic,
 * no clock of its own (the caller passes "today"), so every figure is exact for fixed data.
 *
 * <ul>
 *   <li>planned to date: linear from 0 on the planned start to the planned quantity on the planned due date;</li>
 *   <li>actual: the latest cumulative quantity measured on or before today;</li>
 *   <li>slippage: planned to date minus actual, in the milestone's unit and in percent of the planned quantity;</li>
 *   <li>forecast finish: at the rate of the last {@link #RATE_WINDOW_DAYS} days (or since the planned start, if
 *       later), the day the remaining quantity would be done; null when nothing was done in that window, or when
 *       that day would fall after 9999-12-31.</li>
 * </ul>
 * Quantities are rounded to 3 decimals, percents to 2 (half up), from quotients of {@link #EXACT} digits.
 */
public final class MilestoneFigures {
  public static final int RATE_WINDOW_DAYS = 14;
  /** The last day a forecast may name: later ones have no RFC 3339 form (years 0001-9999). */
  static final LocalDate LAST_DAY = LocalDate.of(9999, 12, 31);
  /**
   * Quotients carry 34 significant digits: a quantity has up to 19 (numeric(20, 3)), so 16 (DECIMAL64) rounded its
   * thousandths before they were rounded to 3 decimals (half of 123456789012345.678 came out as .840).
   */
  static final MathContext EXACT = MathContext.DECIMAL128;

  /** One progress entry: the cumulative quantity measured on a day. Entries come in (measuredOn, seq) order. */
  public record Progress(LocalDate measuredOn, BigDecimal quantity) {}

  public record Baseline(BigDecimal plannedQuantity, LocalDate plannedStart, LocalDate plannedDue) {}

  public record Figures(BigDecimal actual, BigDecimal percentComplete, BigDecimal plannedToDate,
                        BigDecimal plannedPercentToDate, BigDecimal slippage, BigDecimal slippagePercent,
                        BigDecimal ratePerDay, LocalDate forecastFinish, boolean completed, boolean overdue) {}

  /** One ISO week of the S-curve: cumulative planned and actual quantities at the end of the week. */
  public record Week(String isoWeek, LocalDate weekEnding, BigDecimal planned, BigDecimal actual) {}

  private MilestoneFigures() {}

  public static Figures compute(Baseline b, List<Progress> history, LocalDate today) {
    BigDecimal planned = b.plannedQuantity();
    BigDecimal actual = actualOn(history, today);
    BigDecimal plannedToDate = plannedOn(b, today);
    BigDecimal slippage = plannedToDate.subtract(actual);
    boolean completed = actual.compareTo(planned) >= 0;
    LocalDate windowStart = today.minusDays(RATE_WINDOW_DAYS);
    if (windowStart.isBefore(b.plannedStart())) {
      windowStart = b.plannedStart();
    }
    long days = ChronoUnit.DAYS.between(windowStart, today);
    BigDecimal rate = null;
    LocalDate forecast = null;
    if (completed) {
      forecast = completedOn(history, planned);
    } else if (days > 0) {
      BigDecimal done = actual.subtract(actualOn(history, windowStart));
      rate = done.divide(BigDecimal.valueOf(days), EXACT);
      if (rate.signum() > 0) {
        BigDecimal remainingDays = planned.subtract(actual).divide(rate, EXACT)
            .setScale(0, RoundingMode.CEILING);
        // Past the last day a date can be answered as (RFC 3339: year 9999), there is no forecast: at such a rate
        // the day would overflow a long or LocalDate, or have no RFC 3339 form.
        if (remainingDays.compareTo(BigDecimal.valueOf(ChronoUnit.DAYS.between(today, LAST_DAY))) <= 0) {
          forecast = today.plusDays(remainingDays.longValueExact());
        }
      }
    }
    return new Figures(q(actual), pct(actual, planned), q(plannedToDate), pct(plannedToDate, planned), q(slippage),
        pct(slippage, planned), rate == null ? null : q(rate), forecast, completed,
        !completed && today.isAfter(b.plannedDue()));
  }

  /** Planned cumulative quantity on a day: 0 up to the start, linear to the due date, then the whole quantity. */
  public static BigDecimal plannedOn(Baseline b, LocalDate day) {
    if (!day.isAfter(b.plannedStart())) {
      return BigDecimal.ZERO;
    }
    if (!day.isBefore(b.plannedDue())) {
      return b.plannedQuantity();
    }
    long elapsed = ChronoUnit.DAYS.between(b.plannedStart(), day);
    long total = ChronoUnit.DAYS.between(b.plannedStart(), b.plannedDue());
    return b.plannedQuantity().multiply(BigDecimal.valueOf(elapsed)).divide(BigDecimal.valueOf(total),
        EXACT);
  }

  /** The latest cumulative quantity measured on or before a day (0 before any). */
  public static BigDecimal actualOn(List<Progress> history, LocalDate day) {
    Progress last = lastOn(history, day);
    return last == null ? BigDecimal.ZERO : last.quantity();
  }

  /** The last entry measured on or before a day (null before any). */
  public static Progress lastOn(List<Progress> history, LocalDate day) {
    Progress last = null;
    for (Progress p : history) {
      if (p.measuredOn().isAfter(day)) {
        break;
      }
      last = p;
    }
    return last;
  }

  private static LocalDate completedOn(List<Progress> history, BigDecimal planned) {
    for (Progress p : history) {
      if (p.quantity().compareTo(planned) >= 0) {
        return p.measuredOn();
      }
    }
    return null;
  }

  /**
   * The most weeks one milestone's curve carries: a plan spans at most {@link ProjectService#PLAN_SPAN_YEARS} years
   * (522 weeks and a day, 524 week endings), so a milestone planned now is answered week by week for as long as it
   * runs and for about a year after it is due.
   */
  public static final int MAX_WEEKS = 580;
  /** The fewest points of one milestone's curve however many milestones an answer carries. */
  public static final int MIN_WEEKS = 54;
  /** The points of all the curves of one answer, as long as each milestone keeps {@link #MIN_WEEKS}. */
  public static final int ANSWER_WEEKS = 5_800;

  /** A milestone's S-curve: every {@code everyWeeks}-th week from the first, and always the last. */
  public record Curve(int everyWeeks, List<Week> weeks) {}

  /**
   * The points each of {@code milestones} curves of one answer may carry: {@link #ANSWER_WEEKS} shared, within
   * {@link #MIN_WEEKS} and {@link #MAX_WEEKS}; so an answer is bounded by its milestone rows, whatever their dates.
   */
  public static int weeksEach(int milestones) {
    return Math.max(MIN_WEEKS, Math.min(MAX_WEEKS, ANSWER_WEEKS / Math.max(1, milestones)));
  }

  /**
   * Planned and actual cumulative quantities at the end (Sunday) of each ISO week from the week of the planned
   * start to the week of the later of the planned due date and today; actual only for weeks already begun by today
   * (null after). More than {@code maxWeeks} (at least 2) weeks are sampled: every n-th week from the first, n the
   * least that keeps the count within {@code maxWeeks} with the last week added. Only the weeks answered are built
   * (a plan stored from 1900 to 2999 has 57,396), and the history is walked once.
   */
  public static Curve sCurve(Baseline b, List<Progress> history, LocalDate today, int maxWeeks) {
    LocalDate first = b.plannedStart().with(DayOfWeek.SUNDAY);
    LocalDate last = (b.plannedDue().isAfter(today) ? b.plannedDue() : today).with(DayOfWeek.SUNDAY);
    long span = ChronoUnit.WEEKS.between(first, last); // the last week's index
    long step = span < maxWeeks ? 1 : (span + maxWeeks - 2) / (maxWeeks - 1); // ceil(span / (maxWeeks - 1))
    List<Week> weeks = new ArrayList<>();
    int seen = 0; // the history entries measured by the last actual day so far
    BigDecimal actual = BigDecimal.ZERO;
    for (long i = 0; ; i = Math.min(i + step, span)) {
      LocalDate end = first.plusWeeks(i);
      boolean begun = !end.minusDays(6).isAfter(today);
      LocalDate actualDay = end.isAfter(today) ? today : end;
      while (seen < history.size() && !history.get(seen).measuredOn().isAfter(actualDay)) {
        actual = history.get(seen++).quantity();
      }
      weeks.add(new Week(isoWeek(end), end, q(plannedOn(b, end)), begun ? q(actual) : null));
      if (i == span) {
        return new Curve((int) step, weeks);
      }
    }
  }

  static String isoWeek(LocalDate d) {
    return String.format("%d-W%02d", d.get(IsoFields.WEEK_BASED_YEAR), d.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR));
  }

  static BigDecimal q(BigDecimal v) {
    return v.setScale(3, RoundingMode.HALF_UP);
  }

  static BigDecimal pct(BigDecimal part, BigDecimal whole) {
    return part.multiply(BigDecimal.valueOf(100)).divide(whole, 2, RoundingMode.HALF_UP);
  }
}
