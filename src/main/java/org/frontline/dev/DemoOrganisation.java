package org.frontline.dev;

import org.frontline.identity.AccountBootstrap.Account;
import org.frontline.identity.AccountBootstrap.Unit;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.frontline.audit.AuditLog;
import org.frontline.config.FrontlineConfig;
import org.frontline.identity.AccountRepository;
import org.frontline.identity.AccountService;
import org.frontline.identity.Actor;
import org.frontline.identity.AdminAudit;
import org.frontline.identity.OrgUnitRepository;
import org.frontline.identity.OrgUnitService;
import org.frontline.platform.db.Database;
import org.frontline.platform.http.ProblemException;
import org.frontline.platform.http.ProblemType;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

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

  /**
   * Writes the demo units and accounts that are missing, through the same services as the admin API (acting as
   * the system, whose scope is every unit: the same checks, password policy and audit entries); returns how many
   * accounts were created. Runs before the service starts, on a Vert.x instance of its own.
   */
  public static int seed(FrontlineConfig.Database config) throws Exception {
    Vertx vertx = Vertx.vertx();
    Database database = Database.connect(vertx, config);
    try {
      OrgUnitRepository units = new OrgUnitRepository();
      AdminAudit audit = new AdminAudit(new AuditLog());
      OrgUnitService orgUnits = new OrgUnitService(database, units, audit);
      AccountService accounts = new AccountService(vertx, database, new AccountRepository(), units, audit);
      Actor system = Actor.system();
      Future<Integer> done = Future.succeededFuture(0);
      for (Unit unit : UNITS) {
        done = done.compose(n -> orgUnits.get(system, unit.id())
            .map(existing -> n)
            .recover(e -> isNotFound(e)
                ? orgUnits.create(system, unit.id(), unit.parentId(), unit.name(), unit.kind(), database::inTransaction)
                    .map(n)
                : Future.failedFuture(e)));
      }
      for (Account account : ACCOUNTS) {
        done = done.compose(n -> accounts.exists(account.username()).compose(exists -> exists
            ? Future.succeededFuture(n)
            : accounts.create(system, new AccountService.NewAccount(account.id(), account.username(),
                account.displayName(), account.locale(), account.roles(), account.homeUnitId(), List.of(), PASSWORD),
                database::inTransaction).map(created -> n + 1)));
      }
      return done.toCompletionStage().toCompletableFuture().get(2, TimeUnit.MINUTES);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception cause ? cause : e;
    } finally {
      database.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private static boolean isNotFound(Throwable e) {
    return e instanceof ProblemException pe && pe.problem().type() == ProblemType.NOT_FOUND;
  }

  private static UUID id(String name) {
    return UUID.nameUUIDFromBytes(("frontline-demo:" + name).getBytes(StandardCharsets.UTF_8));
  }
}
