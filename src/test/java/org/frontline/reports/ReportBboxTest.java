package org.frontline.reports;

import io.vertx.core.json.JsonObject;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.reports.ReportFixtures.*;
import static org.frontline.reports.ReportReadTest.created;
import static org.frontline.reports.ReportReadTest.firstField;
import static org.frontline.reports.ReportReadTest.ids;
import static org.frontline.reports.ReportReadTest.invalidAsAdmin;
import static org.frontline.reports.ReportReadTest.list;

/** The bounding-box filter of GET /v1/reports (a class of its own: ReportReadTest counts every report it sees). */
@FrontlineTest
class ReportBboxTest {
  @BeforeAll
  static void freshTokens() {
    forgetTokens();
  }

  /**
   * A GeoJSON-style box crossing the antimeridian (minLon > maxLon) is two ranges of longitude: reports just east and
   * just west of it, none in between. It was a 400. Latitudes do not wrap: minLat > maxLat stays a 400.
   */
  @Test
  void aBoxCrossingTheAntimeridianFindsReportsOnBothSides(TestEnvironment env) {
    List<UUID> near = new ArrayList<>();
    for (double lon : new double[] {179.5, -179.5, 170, -170, 0, 169.9, -169.9}) {
      UUID id = UUID.randomUUID();
      JsonObject e = site(id);
      e.getJsonObject("location").put("lat", -10.0).put("lon", lon);
      created(post(env, "officer.zhang", "/v1/reports", e.put("unitId", TONGZHOU.toString())));
      near.add(id);
    }
    List<String> found = ids(list(env, "officer.zhang", "?bbox=-15,170,-5,-170&limit=200"));
    assertThat(found).containsAll(near.subList(0, 4).stream().map(UUID::toString).toList())
        .doesNotContainAnyElementsOf(near.subList(4, 7).stream().map(UUID::toString).toList());
    // Every report listed lies in the box, and pages of it follow on as any list's.
    for (Object item : list(env, "officer.zhang", "?bbox=-15,170,-5,-170&limit=200").getJsonArray("items")) {
      JsonObject location = ((JsonObject) item).getJsonObject("location");
      assertThat(Math.abs(location.getDouble("lon"))).isGreaterThanOrEqualTo(170);
      assertThat(location.getDouble("lat")).isBetween(-15.0, -5.0);
    }
    JsonObject first = list(env, "officer.zhang", "?bbox=-15,170,-5,-170&limit=2");
    JsonObject rest = list(env, "officer.zhang", "?bbox=-15,170,-5,-170&limit=200&cursor="
        + first.getString("nextCursor"));
    List<String> paged = new ArrayList<>(ids(first));
    paged.addAll(ids(rest));
    assertThat(paged).containsExactlyElementsOf(found);
    // The same box not crossing (minLon <= maxLon) is everything between: the 0 and the 169.9/-169.9 ones too.
    assertThat(ids(list(env, "officer.zhang", "?bbox=-15,-170,-5,170&limit=200")))
        .contains(near.get(4).toString(), near.get(5).toString(), near.get(6).toString())
        .doesNotContain(near.get(0).toString(), near.get(1).toString());
    assertThat(firstField(invalidAsAdmin(env, "/v1/reports?bbox=-5,170,-15,-170"))).isEqualTo("query/bbox");
    assertThat(firstField(invalidAsAdmin(env, "/v1/reports?bbox=-15,181,-5,-170"))).isEqualTo("query/bbox");
  }

}
