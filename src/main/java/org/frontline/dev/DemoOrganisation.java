package org.frontline.dev;

import org.frontline.identity.AccountBootstrap;
import org.frontline.identity.AccountBootstrap.Account;
import org.frontline.identity.AccountBootstrap.Unit;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.List;
import java.util.UUID;

/**
 * The demo organisation of dev mode, drawn from the cases in docs/DOMAIN.md. Ids are derived from names, so a
 * second run finds everything in place and writes nothing. Dev mode only: the password is public.
 */
public final class DemoOrganisation {
  public static final String PASSWORD = "frontline-dev";

  public static final UUID JIANGSU = id("Jiangsu");
  public static final UUID YANGZHOU = id("Yangzhou");
  public static final UUID HANJIANG = id("Hanjiang");
  public static final UUID HUAISI = id("Huaisi");
  public static final UUID NANTONG = id("Nantong");
  public static final UUID TONGZHOU = id("Tongzhou");
  public static final UUID SUZHOU = id("Suzhou");
  public static final UUID SIP = id("Suzhou Industrial Park");
  public static final UUID HUAIAN = id("Huai'an");
  public static final UUID HONGZE = id("Hongze");
  public static final UUID SUQIAN = id("Suqian");

  public static final List<Unit> UNITS = List.of(
      new Unit(JIANGSU, null, "江苏省 Jiangsu", "PROVINCE"),
      new Unit(YANGZHOU, JIANGSU, "扬州市 Yangzhou", "CITY"),
      new Unit(HANJIANG, YANGZHOU, "邗江区 Hanjiang District", "DISTRICT"),
      new Unit(HUAISI, HANJIANG, "槐泗镇 Huaisi Town", "TOWNSHIP"),
      new Unit(NANTONG, JIANGSU, "南通市 Nantong", "CITY"),
      new Unit(TONGZHOU, NANTONG, "通州区 Tongzhou District", "DISTRICT"),
      new Unit(SUZHOU, JIANGSU, "苏州市 Suzhou", "CITY"),
      new Unit(SIP, SUZHOU, "苏州工业园区 Suzhou Industrial Park", "PARK"),
      new Unit(HUAIAN, JIANGSU, "淮安市 Huai'an", "CITY"),
      new Unit(HONGZE, HUAIAN, "洪泽区 Hongze District", "DISTRICT"),
      new Unit(SUQIAN, JIANGSU, "宿迁市 Suqian", "CITY"));

  public static final List<Account> ACCOUNTS = List.of(
      new Account(id("account:admin"), "admin", "省委组织部管理员 Province Admin", "zh-CN", List.of("admin"), JIANGSU),
      new Account(id("account:officer.xu"), "officer.xu", "徐立 Xu Li", "zh-CN", List.of("officer"), HUAISI),
      new Account(id("account:officer.zhang"), "officer.zhang", "张晨 Zhang Chen", "zh-CN", List.of("officer"), TONGZHOU),
      new Account(id("account:supervisor.hanjiang"), "supervisor.hanjiang", "韩江 Han Jiang", "zh-CN",
          List.of("supervisor"), HANJIANG),
      new Account(id("account:supervisor.tongzhou"), "supervisor.tongzhou", "周通 Zhou Tong", "en",
          List.of("supervisor"), TONGZHOU),
      new Account(id("account:assessor.tongzhou"), "assessor.tongzhou", "顾评 Gu Ping", "zh-CN",
          List.of("assessor"), TONGZHOU));

  private DemoOrganisation() {}

  /** Writes the demo units and accounts that are missing; returns how many accounts were created. */
  public static int seed(String jdbcUrl, String user, String password) throws SQLException {
    try (Connection c = DriverManager.getConnection(jdbcUrl, user, password)) {
      c.setAutoCommit(false);
      AccountBootstrap bootstrap = new AccountBootstrap(c);
      for (Unit unit : UNITS) {
        bootstrap.ensureUnit(unit);
      }
      int created = 0;
      for (Account account : ACCOUNTS) {
        if (bootstrap.ensureAccount(account, PASSWORD)) {
          created++;
        }
      }
      c.commit();
      return created;
    }
  }

  private static UUID id(String name) {
    return UUID.nameUUIDFromBytes(("frontline-demo:" + name).getBytes(StandardCharsets.UTF_8));
  }
}
