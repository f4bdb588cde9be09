package org.frontline.platform.dev;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EmbeddedPostgresServerTest {

  @TempDir
  Path tmp;

  @Test
  void dataSurvivesARestartOnTheSameDirectory() throws Exception {
    Path dataDir = tmp.resolve("pg");
    String password;

    long t0 = System.nanoTime();
    try (EmbeddedPostgresServer pg = EmbeddedPostgresServer.start(dataDir, 0)) {
      long firstMs = (System.nanoTime() - t0) / 1_000_000;
      System.out.println("EmbeddedPostgresServer first start (initdb + create database): " + firstMs + " ms");
      assertThat(pg.host()).isEqualTo("127.0.0.1");
      assertThat(pg.port()).isPositive();
      assertThat(pg.jdbcUrl()).isEqualTo("jdbc:postgresql://127.0.0.1:" + pg.port() + "/frontline");
      password = pg.password();
      assertThat(password).isNotBlank();

      try (Connection c = connect(pg); Statement s = c.createStatement()) {
        s.execute("CREATE TABLE report (id int PRIMARY KEY, title text NOT NULL)");
        s.execute("INSERT INTO report VALUES (1, 'bridge down'), (2, 'road open')");
      }
    }

    long t1 = System.nanoTime();
    try (EmbeddedPostgresServer pg = EmbeddedPostgresServer.start(dataDir, 0)) {
      long secondMs = (System.nanoTime() - t1) / 1_000_000;
      System.out.println("EmbeddedPostgresServer second start (existing data dir): " + secondMs + " ms");
      assertThat(pg.password()).as("password is reused from the data dir").isEqualTo(password);
      assertThat(titles(pg)).containsExactly("bridge down", "road open");
      assertThat(secondMs).as("second start is fast").isLessThan(10_000);
    }
  }

  @Test
  void wrongPasswordIsRejected() throws Exception {
    try (EmbeddedPostgresServer pg = EmbeddedPostgresServer.start(tmp.resolve("pg"), 0)) {
      assertThatThrownBy(() -> DriverManager.getConnection(pg.jdbcUrl(), pg.user(), "wrong").close())
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("password authentication failed");
    }
  }

  @Test
  void staleServerPidFileDoesNotPreventAStart() throws Exception {
    Path dataDir = tmp.resolve("pg");
    EmbeddedPostgresServer.start(dataDir, 0).close();

    // What a server killed with -9 leaves behind: a postmaster.pid naming a process that no longer exists.
    long deadPid = 4_000_000;
    while (ProcessHandle.of(deadPid).isPresent()) {
      deadPid--;
    }
    Path clusterDir = dataDir.resolve(EmbeddedPostgresServer.CLUSTER_DIR);
    Files.writeString(clusterDir.resolve("postmaster.pid"), deadPid + "\n" + clusterDir + "\n1700000000\n5432\n"
        + clusterDir + "\n127.0.0.1\n  5432001    123\nready   \n");

    try (EmbeddedPostgresServer pg = EmbeddedPostgresServer.start(dataDir, 0)) {
      assertThat(tableCount(pg)).isPositive();
      assertThat(Files.readAllLines(clusterDir.resolve("postmaster.pid")).get(0))
          .isNotEqualTo(Long.toString(deadPid));
    }
  }

  @Test
  void twoServersOnTwoDirectoriesRunAtOnce() throws Exception {
    try (EmbeddedPostgresServer a = EmbeddedPostgresServer.start(tmp.resolve("a"), 0);
         EmbeddedPostgresServer b = EmbeddedPostgresServer.start(tmp.resolve("b"), 0)) {
      assertThat(a.port()).isNotEqualTo(b.port());
      try (Connection ca = connect(a); Connection cb = connect(b);
           Statement sa = ca.createStatement(); Statement sb = cb.createStatement()) {
        sa.execute("CREATE TABLE only_in_a (x int)");
        try (ResultSet rs = sb.executeQuery("SELECT to_regclass('only_in_a') IS NULL")) {
          assertThat(rs.next()).isTrue();
          assertThat(rs.getBoolean(1)).as("b is a separate cluster").isTrue();
        }
      }
    }
  }

  @Test
  void closeStopsTheServer() throws Exception {
    EmbeddedPostgresServer pg = EmbeddedPostgresServer.start(tmp.resolve("pg"), 0);
    Connection open = connect(pg); // fast shutdown must not wait for open sessions
    pg.close();
    open.close();
    assertThatThrownBy(() -> connect(pg).close()).isInstanceOf(SQLException.class);
    assertThat(tmp.resolve("pg").resolve(EmbeddedPostgresServer.CLUSTER_DIR).resolve("postmaster.pid")).doesNotExist();
  }

  private static Connection connect(EmbeddedPostgresServer pg) throws SQLException {
    return DriverManager.getConnection(pg.jdbcUrl(), pg.user(), pg.password());
  }

  private static List<String> titles(EmbeddedPostgresServer pg) throws SQLException {
    List<String> titles = new ArrayList<>();
    try (Connection c = connect(pg); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT title FROM report ORDER BY id")) {
      while (rs.next()) {
        titles.add(rs.getString(1));
      }
    }
    return titles;
  }

  private static Integer tableCount(EmbeddedPostgresServer pg) throws SQLException {
    try (Connection c = connect(pg); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_tables")) {
      rs.next();
      return rs.getInt(1);
    }
  }
}
