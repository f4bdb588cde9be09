package org.frontline;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.WorkerExecutor;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import org.frontline.platform.http.ConnectionSafeMetrics;
import io.micrometer.core.instrument.config.MeterFilter;
import io.vertx.micrometer.VertxPrometheusOptions;
import org.frontline.audit.AuditApi;
import org.frontline.audit.AuditLog;
import org.frontline.audit.AuditRepository;
import org.frontline.config.FrontlineConfig;
import org.frontline.evidence.AttachmentContentApi;
import org.frontline.evidence.MediaWorkerVerticle;
import org.frontline.evidence.ReportChecksVerticle;
import org.frontline.identity.AccountRepository;
import org.frontline.identity.AccountService;
import org.frontline.identity.AdminApi;
import org.frontline.identity.Actor;
import org.frontline.identity.AdminAudit;
import org.frontline.identity.AuthService;
import org.frontline.identity.BearerAuthHandler;
import org.frontline.reports.AttachmentLedger;
import org.frontline.reports.LinkedRecords;
import org.frontline.webhooks.WebhookDeliveryVerticle;
import org.frontline.webhooks.WebhookService;
import org.frontline.webhooks.WebhookTargets;
import org.frontline.webhooks.WebhooksApi;
import org.frontline.uploads.DirectUploadApi;
import org.frontline.uploads.TusUploadHandler;
import org.frontline.uploads.UploadRepository;
import org.frontline.uploads.UploadService;
import org.frontline.uploads.UploadSweeper;
import org.frontline.uploads.UploadsApi;
import org.frontline.identity.OrgUnitRepository;
import org.frontline.identity.OrgUnitService;
import org.frontline.identity.PasswordChecks;
import org.frontline.identity.IdentityApi;
import org.frontline.identity.IdentityRepository;
import org.frontline.identity.KeyEncryption;
import org.frontline.identity.KeyRing;
import org.frontline.identity.KeysApi;
import org.frontline.identity.RefusalAudit;
import org.frontline.identity.RotationService;
import org.frontline.identity.SigningKeyStore;
import org.frontline.identity.TokenService;
import org.frontline.notify.AlertRules;
import org.frontline.notify.DeviceRepository;
import org.frontline.notify.FloodControl;
import org.frontline.notify.DeliveriesAdminApi;
import org.frontline.notify.DevicesApi;
import org.frontline.notify.NotificationsApi;
import org.frontline.notify.OutboxDispatcherVerticle;
import org.frontline.notify.Retention;
import org.frontline.platform.db.Database;
import org.frontline.enterprises.EnterpriseService;
import org.frontline.enterprises.EnterprisesApi;
import org.frontline.enterprises.ServiceRequestService;
import org.frontline.platform.http.ApiRoutes;
import org.frontline.figures.FiguresApi;
import org.frontline.figures.FiguresService;
import org.frontline.partners.EventFeed;
import org.frontline.partners.FeedClock;
import org.frontline.partners.PartnerCallers;
import org.frontline.partners.PartnerReports;
import org.frontline.partners.PartnerFigures;
import org.frontline.partners.PartnerClientService;
import org.frontline.partners.PartnersApi;
import org.frontline.partners.TokenEndpoint;
import org.frontline.postings.PostingService;
import org.frontline.postings.PostingsApi;
import org.frontline.projects.MilestoneAlerts;
import org.frontline.projects.ProjectService;
import org.frontline.projects.RecordWatch;
import org.frontline.projects.ProjectsApi;
import org.frontline.platform.http.ApiVerticle;
import org.frontline.platform.db.ChangeListener;
import org.frontline.identity.AccountCache;
import org.frontline.identity.EndedSessions;
import org.frontline.platform.http.IdempotentWrites;
import org.frontline.platform.http.ManagementVerticle;
import org.frontline.platform.objectstore.MinioObjectStore;
import org.frontline.platform.objectstore.ObjectStore;
import org.frontline.platform.push.DevPushesHandler;
import org.frontline.platform.push.FirebasePushGateway;
import org.frontline.platform.push.PushGateway;
import org.frontline.platform.push.RecordingPushGateway;
import org.frontline.reports.ReportService;
import org.frontline.reports.ReportsApi;
import org.frontline.reports.ReviewService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The running service: one Vert.x instance, the shared clients (database pool, object store, push gateway, the
 * bounded pool for blocking SDK calls) and the verticles that serve the API and the management port. The schema
 * must be migrated before {@link #start}.
 */
public final class Frontline {
  private static final Logger log = LoggerFactory.getLogger(Frontline.class);
  /** The bounded, named pool on which every blocking SDK call runs (MinIO, Firebase). */
  public static final String BLOCKING_POOL = "frontline-blocking";

  private final FrontlineConfig config;
  private final Vertx vertx;
  private final PrometheusMeterRegistry registry;
  private final WorkerExecutor blocking;
  /** Login's password checks: a pool of their own, a bounded number admitted at once. */
  private final PasswordChecks passwords;
  private final Database database;
  /** The one audit log every feature records to (appends are serialised in the database, not here). */
  private final AuditLog audit = new AuditLog();
  private final MinioObjectStore objectStore;
  private final PushFactory pushFactory;
  private PushGateway push;
  private KeyRing keyRing;
  private UploadSweeper sweeper;
  /** Deletes what the operational tables (outbox, notifications, push deliveries) keep past their windows. */
  private Retention retention;
  private RecordWatch recordWatch;
  /** The periodic move of the audit chain's head (AuditLog.checkpoint); -1 when not running. */
  private long auditHeadTimer = -1;
  /** The periodic check of the event feed's clock (FeedClock.check); -1 when not running. */
  private long feedClockTimer = -1;
  private UploadService uploads;
  /** How long a tus upload may take from creation (tus expiration). */
  public static final java.time.Duration UPLOAD_LIFETIME = java.time.Duration.ofHours(24);
  /** How often expired uploads are looked for. */
  public static final java.time.Duration UPLOAD_SWEEP_INTERVAL = java.time.Duration.ofMinutes(1);
  /**
   * Account changes (AccountCache), ended sessions (EndedSessions) and signing-key changes (KeyRing) heard on one
   * connection; API processes only.
   */
  private ChangeListener identityChanges;
  private String apiDeployment;
  private CompletableFuture<Void> stopped;
  /** Set when {@link #stop()} begins: readiness says DOWN from then on. */
  private volatile boolean stopping;
  /** Where refused tokens and throttled logins go on record (one per process: its windows are per address). */
  private RefusalAudit refusals;

  /** Makes the push gateway once Vert.x and the blocking pool exist (tests hand in one aimed at a fake FCM). */
  @FunctionalInterface
  public interface PushFactory {
    Future<? extends PushGateway> create(Vertx vertx, WorkerExecutor blocking);
  }

  private static final java.util.Set<String> STANDARD_METHODS = java.util.Set.of("GET", "HEAD", "POST", "PUT",
      "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH");

  private Frontline(FrontlineConfig config, PushFactory pushFactory) {
    this.config = config;
    this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    // The HTTP method is any token a client sends: each new one ("FOO1", "FOO2", ...) made a new series of every
    // HTTP server meter, an unbounded registry and /metrics page. Methods other than RFC 9110's and PATCH count as
    // OTHER (configured before any meter is registered: a filter does not apply to meters that already exist).
    this.registry.config().meterFilter(MeterFilter.replaceTagValues("method",
        method -> STANDARD_METHODS.contains(method) ? method : "OTHER"));
    this.vertx = Vertx.builder()
        .with(new VertxOptions().setMetricsOptions(new MicrometerMetricsOptions()
            .setEnabled(true)
            .setJvmMetricsEnabled(true)
            .setPrometheusOptions(new VertxPrometheusOptions().setEnabled(true))))
        .withMetrics(ConnectionSafeMetrics.of(new MicrometerMetricsFactory(registry)))
        .build();
    this.blocking = vertx.createSharedWorkerExecutor(BLOCKING_POOL, config.workerPoolSize(), 5, TimeUnit.MINUTES);
    this.passwords = new PasswordChecks(vertx);
    // A statement outlives its request by a second at most (the request's 503 timeout answers first).
    this.database = Database.connect(vertx, config.database(), config.http().requestTimeout().plusSeconds(1));
    this.objectStore = new MinioObjectStore(vertx, blocking, config.objectStore());
    this.pushFactory = pushFactory != null ? pushFactory : switch (config.push().gateway()) {
      case FIREBASE -> (v, b) -> FirebasePushGateway.fromServiceAccount(v, b, config.push().firebaseCredentialsFile())
          // A readable file that is no service account (or lacks its project id): name the setting, not a trace.
          .recover(e -> Future.failedFuture(new org.frontline.config.ConfigException(List.of(
              org.frontline.config.Setting.FIREBASE_CREDENTIALS_FILE.env() + ": '"
                  + config.push().firebaseCredentialsFile() + "' is not a usable service-account file ("
                  + e.getMessage() + ")"))));
      case RECORDING -> (v, b) -> Future.succeededFuture(new RecordingPushGateway());
    };
  }

  /** Starts everything; the future fails (and everything started is stopped) when any part cannot start. */
  public static Future<Frontline> start(FrontlineConfig config) {
    return start(config, null);
  }

  /**
   * As {@link #start(FrontlineConfig)}, with the push gateway made by the caller's factory (tests). A failed start
   * fails only once everything it opened (ports, pool, Vert.x) is closed: Main reports the failure and exits then.
   * The future belongs to no context: after a failure it completes once Vert.x is closed, when a future of one of
   * its contexts would never complete (its callbacks are handed to event loops that are gone).
   */
  public static Future<Frontline> start(FrontlineConfig config, PushFactory pushFactory) {
    Frontline app = new Frontline(config, pushFactory);
    Promise<Frontline> started = Promise.promise();
    Future<Void> deployed;
    try {
      deployed = app.deploy();
    } catch (RuntimeException e) {
      deployed = Future.failedFuture(e);
    }
    deployed.onComplete(ar -> {
      if (ar.succeeded()) {
        started.complete(app);
      } else {
        app.stop().whenComplete((v, e) -> started.fail(ar.cause()));
      }
    });
    return started.future();
  }

  private Future<Void> deploy() {
    KeyEncryption sealing = new KeyEncryption(config.tokens().keyEncryptionKey());
    SigningKeyStore keyStore = new SigningKeyStore(database.pool(), sealing, Clock.systemUTC());
    WebhookTargets webhookTargets = new WebhookTargets(config.webhooks().allowLoopback());
    keyRing = new KeyRing(vertx, keyStore);
    TokenService tokens = new TokenService(config.tokens().issuer(), config.tokens().audience(), keyRing,
        Clock.systemUTC());
    AccountCache callers = new AccountCache();
    io.micrometer.core.instrument.Gauge.builder("frontline.account.cache.listening", callers, c -> c.trusted() ? 1 : 0)
        .description("1 while account changes are heard (the cache of callers serves from memory), else 0")
        .register(registry);
    EndedSessions sessions = new EndedSessions(vertx, database.pool());
    identityChanges = new ChangeListener(vertx, database, java.util.Map.of(AccountCache.CHANNEL, callers,
        EndedSessions.CHANNEL, sessions, KeyRing.CHANNEL, keyRing));
    io.micrometer.core.instrument.Gauge.builder("frontline.ended.sessions.listening", sessions,
            s -> s.trusted() ? 1 : 0)
        .description("1 while ended sessions are heard and loaded (judged from memory), else 0").register(registry);
    io.micrometer.core.instrument.Gauge.builder("frontline.ended.sessions", sessions, EndedSessions::size)
        .description("Sessions ended lately held in memory (their access tokens are refused)").register(registry);
    PartnerCallers partnerCallers = new PartnerCallers(database.pool());
    IdentityRepository identity = new IdentityRepository(database, callers, sessions);
    refusals = new RefusalAudit(vertx, database.pool(), audit, config.tokens().refusalAuditInterval(), registry,
        Clock.systemUTC());
    AdminAudit adminAudit = new AdminAudit(audit);
    OrgUnitRepository orgUnits = new OrgUnitRepository();
    MilestoneAlerts milestoneAlerts = new MilestoneAlerts(config.projects().milestoneAtRiskPercent());
    ProjectService projects = new ProjectService(database, adminAudit, Clock.systemUTC(), milestoneAlerts);
    ServiceRequestService serviceRequests = new ServiceRequestService(database, adminAudit);
    recordWatch = new RecordWatch(database.pool(), milestoneAlerts, Clock.systemUTC());
    IdempotentWrites writes = new IdempotentWrites(database, rc -> Actor.of(rc).accountId(),
        config.tokens().keyEncryptionKey());
    ReportsApi reports = new ReportsApi(new ReportService(database, adminAudit,
        new LinkedRecords(projects, serviceRequests)), new ReviewService(database, adminAudit), writes);
    UploadRepository uploadRepository = new UploadRepository(database.pool());
    AttachmentLedger ledger = new AttachmentLedger(database.pool());
    UploadService uploadService = new UploadService(uploadRepository, ledger, objectStore, audit, Clock.systemUTC(),
        UPLOAD_LIFETIME, blocking);
    uploads = uploadService;
    sweeper = new UploadSweeper(uploadRepository, objectStore, Clock.systemUTC(), UPLOAD_LIFETIME);
    retention = new Retention(database.pool(), config.retention());
    List<ApiRoutes> features = List.of(
        new IdentityApi(new AuthService(tokens, identity, audit, refusals, passwords), tokens, identity, audit,
            partnerCallers, refusals),
        new KeysApi(tokens, keyStore, keyRing, new RotationService(keyStore, audit), writes),
        new AuditApi(new AuditRepository(database.pool())),
        new AdminApi(new OrgUnitService(database, orgUnits, adminAudit),
            new AccountService(vertx, database, new AccountRepository(), orgUnits, adminAudit, callers), writes),
        reports,
        new UploadsApi(new TusUploadHandler(uploadService, new BearerAuthHandler(tokens, identity, audit,
            partnerCallers, refusals).forAnyAccount("tus /v1/uploads"))),
        new DirectUploadApi(uploadRepository, ledger, objectStore, audit, Clock.systemUTC(), blocking),
        new DevicesApi(new DeviceRepository(database.pool()), refusals),
        new NotificationsApi(database.pool()),
        new DeliveriesAdminApi(database.pool(), audit),
        new AttachmentContentApi(database, objectStore),
        new EnterprisesApi(new EnterpriseService(database, adminAudit), serviceRequests, writes),
        new ProjectsApi(projects, writes),
        new PostingsApi(new PostingService(database, adminAudit, Clock.systemUTC()), writes),
        new FiguresApi(new FiguresService(database, Clock.systemUTC(), config.projects().milestoneAtRiskPercent())),
        new PartnersApi(new PartnerClientService(database, adminAudit),
            new TokenEndpoint(database.pool(), tokens, audit, Clock.systemUTC(), config.http().requestTimeout()),
            new EventFeed(database.pool()),
            new PartnerReports(database.pool(), objectStore),
            new PartnerFigures(database, audit)),
        new WebhooksApi(new WebhookService(database, adminAudit, sealing, webhookTargets)));
    // Once stopping, every check says DOWN: the API accepts no new connection while in-flight requests finish
    // (up to the grace period), and a load balancer must stop sending before the port closes.
    Map<String, Supplier<Future<Void>>> readiness = new LinkedHashMap<>();
    readiness.put("database", () -> stopping ? Future.failedFuture("stopping") : database.ping());
    readiness.put("object-store", () -> stopping ? Future.failedFuture("stopping") : objectStore.ping());
    int apiInstances = Math.max(1, Math.min(VertxOptions.DEFAULT_EVENT_LOOP_POOL_SIZE, 8));
    FrontlineConfig.Roles roles = config.roles();
    // Before anything is served or written: a restored database gets its feed clock raised first (FeedClock).
    return FeedClock.check(database.pool())
        .recover(e -> Future.failedFuture(new IllegalStateException("cannot check the event feed's clock: "
            + e.getMessage(), e)))
        .compose(v -> keyRing.start().recover(e -> Future.failedFuture(
            new IllegalStateException("cannot load the signing keys: " + e.getMessage(), e))))
        .compose(v -> reports.start(vertx, registry))
        // Until they listen, the cache of callers and the ended sessions serve nothing from memory; a database that
        // refuses LISTEN now would refuse the API's queries too, so starting without it is not an option worth
        // having. Only the API authenticates callers: a workers-only process holds no listening connection.
        .compose(v -> roles.api() ? identityChanges.start() : Future.succeededFuture())
        .compose(v -> pushFactory.create(vertx, blocking))
        .compose(gateway -> {
          push = gateway;
          io.micrometer.core.instrument.Gauge.builder("frontline.push.pause.remaining", gateway,
                  g -> g.paused().toMillis() / 1000.0)
              .baseUnit("seconds").description("How long pushes are still paused because FCM said the project's"
                  + " quota is exhausted (0: not paused)").register(registry);
          io.micrometer.core.instrument.FunctionCounter.builder("frontline.push.pauses", gateway, PushGateway::pauses)
              .description("Pauses of all pushes begun because FCM said the project's quota is exhausted")
              .register(registry);
          return objectStore.ensureBucket();
        })
        // The API first: readiness must not say UP before the API is listening.
        .compose(v -> !roles.api() ? Future.succeededFuture() : vertx.deployVerticle(
                () -> new ApiVerticle(config.http(), features), new DeploymentOptions().setInstances(apiInstances))
            .onSuccess(id -> apiDeployment = id))
        .compose(v -> {
          // Dev mode only: what the recording gateway would have pushed. Never in production.
          Map<String, io.vertx.core.Handler<io.vertx.ext.web.RoutingContext>> devViews =
              config.mode() == FrontlineConfig.Mode.DEV && push instanceof RecordingPushGateway recording
                  ? Map.of(DevPushesHandler.PATH, new DevPushesHandler(recording)) : Map.of();
          return deploy(true, () -> new ManagementVerticle(config.http().managementHost(),
              config.http().managementPort(), registry, readiness, devViews));
        })
        // The workers. Each shares its work through the database (claims, leases, SKIP LOCKED) with the workers of
        // other processes, so one per process is enough and a process may run none (FRONTLINE_ROLES=api).
        .compose(v -> {
          OutboxDispatcherVerticle.Settings alerts = OutboxDispatcherVerticle.Settings.defaults()
              .withFlood(config.push().digestAfter() == 0 ? FloodControl.OFF
                  : new FloodControl(config.push().digestAfter(), config.push().digestWindow()))
              .withEscalation(config.push().escalateAfter(), AlertRules.urgentKinds());
          return deploy(roles.workers(), () -> new OutboxDispatcherVerticle(database, push, alerts, audit, registry));
        })
        .compose(v -> deploy(roles.workers(), () -> new MediaWorkerVerticle(database, objectStore, blocking,
            MediaWorkerVerticle.Settings.defaults(), registry)))
        .compose(v -> deploy(roles.workers(), () -> new ReportChecksVerticle(database,
            ReportChecksVerticle.Settings.defaults(), registry)))
        .compose(v -> deploy(roles.workers(), () -> new WebhookDeliveryVerticle(database.pool(), sealing,
            webhookTargets, blocking, WebhookDeliveryVerticle.Settings.defaults(config.webhooks().retryBase()))))
        .onSuccess(v -> {
          // Every process appends to the audit chain, so every process moves its head forward.
          auditHeadTimer = vertx.setPeriodic(AuditLog.HEAD_INTERVAL.toMillis(), id -> AuditLog.checkpoint(
              database.pool()).onFailure(e -> log.debug("audit head not moved: {}", e.toString())));
          // Every process writes events, so every process checks the clock (a database switched under it).
          feedClockTimer = vertx.setPeriodic(FeedClock.INTERVAL.toMillis(), id -> FeedClock.check(database.pool())
              .onFailure(e -> log.warn("event feed clock not checked: {}", e.toString())));
          if (roles.workers()) {
            sweeper.start(vertx, UPLOAD_SWEEP_INTERVAL);
            retention.start(vertx, Retention.INTERVAL);
            if (!config.push().recordWatchInterval().isZero()) {
              recordWatch.start(vertx, config.push().recordWatchInterval());
            }
          }
          log.info("{}{}management on http://{}:{}, push: {}",
              roles.api() ? "API listening on http://" + config.http().host() + ":" + config.http().port() + " ("
                  + apiInstances + " event-loop instances), " : "no API (FRONTLINE_ROLES), ",
              roles.workers() ? "" : "no workers (FRONTLINE_ROLES), ",
              config.http().managementHost(), config.http().managementPort(), push.name());
        })
        .mapEmpty();
  }

  /** Deploys one instance of a verticle when {@code wanted} ({@link #stop()} undeploys every deployment). */
  private Future<Void> deploy(boolean wanted, Supplier<io.vertx.core.Deployable> verticle) {
    if (!wanted) {
      return Future.succeededFuture();
    }
    return vertx.deployVerticle(verticle, new DeploymentOptions()).mapEmpty();
  }

  /**
   * Graceful stop: the API stops accepting and lets in-flight requests finish within the grace period, then the
   * management port, the pools and Vert.x close. Safe to call more than once. The returned stage completes on a
   * thread of no event loop: once Vert.x is closed, its event loops can run nothing more.
   */
  public synchronized CompletableFuture<Void> stop() {
    if (stopped != null) {
      return stopped;
    }
    stopping = true;
    if (keyRing != null) {
      keyRing.stop();
    }
    if (identityChanges != null) {
      identityChanges.stop();
    }
    if (auditHeadTimer != -1) {
      vertx.cancelTimer(auditHeadTimer);
    }
    if (feedClockTimer != -1) {
      vertx.cancelTimer(feedClockTimer);
    }
    // No periodic round starts any more; those at work end before the database and the pools close.
    List<Future<Void>> rounds = new ArrayList<>();
    if (sweeper != null) {
      rounds.add(sweeper.stop(vertx));
    }
    if (retention != null) {
      rounds.add(retention.stop(vertx));
    }
    if (recordWatch != null) {
      rounds.add(recordWatch.stop(vertx));
    }
    Future<Void> api = apiDeployment == null ? Future.succeededFuture() : vertx.undeploy(apiDeployment);
    Future<Void> services = api.recover(e -> Future.succeededFuture())
        // PATCHes cut off at the end of the grace period keep what arrived (a part stored, the offset persisted).
        .compose(v -> uploads == null ? Future.<Void>succeededFuture() : uploads.idle(vertx))
        // No refusal comes any more: the counted ones go on record while the database is still open.
        .compose(v -> refusals == null ? Future.<Void>succeededFuture() : refusals.flush())
        // A worker's undeploy waits for its rounds at work (RoundsInFlight): nothing of theirs meets a closed pool.
        // Every verticle still deployed, not only those deploy() made: one deployed on this Vert.x by other code (a
        // worker deployed again by a test) was left to vertx.close(), after the pools.
        .compose(v -> Future.join(vertx.deploymentIDs().stream().map(vertx::undeploy).toList()).<Void>mapEmpty()
            .recover(e -> Future.succeededFuture()))
        .compose(v -> Future.join(rounds).<Void>mapEmpty().recover(e -> Future.succeededFuture()))
        .compose(v -> database.close().recover(e -> Future.succeededFuture()))
        .compose(v -> push instanceof FirebasePushGateway firebase ? firebase.close() : Future.<Void>succeededFuture())
        .recover(e -> Future.succeededFuture())
        .compose(v -> {
          objectStore.close();
          return Future.join(blocking.close(), passwords.close()).<Void>mapEmpty()
              .recover(e -> Future.succeededFuture());
        });
    stopped = services.toCompletionStage().toCompletableFuture()
        .handle((v, e) -> (Void) null)
        .thenComposeAsync(v -> vertx.close().toCompletionStage());
    return stopped;
  }

  public FrontlineConfig config() { return config; }

  public Vertx vertx() { return vertx; }

  public Database database() { return database; }

  public AuditLog audit() { return audit; }

  public ObjectStore objectStore() { return objectStore; }

  public PushGateway push() { return push; }

  /** The bounded pool for blocking work (tests deploy further workers on it). */
  public WorkerExecutor blocking() { return blocking; }

  /** This instance's cache of the signing keys (tests reload it after changing the table). */
  public KeyRing signingKeys() { return keyRing; }

  public PrometheusMeterRegistry registry() { return registry; }

  /** The expired-upload sweeper (tests run a sweep at once). */
  public UploadSweeper uploadSweeper() { return sweeper; }

  /** The retention of the operational tables (tests run a sweep at once). */
  public Retention retention() { return retention; }

  /** The tus upload service (tests look at its part budget). */
  public UploadService uploads() { return uploads; }

  /** The served work-record watcher (system clock); tests make their own with a fixed clock. */
  public RecordWatch recordWatch() { return recordWatch; }
}
