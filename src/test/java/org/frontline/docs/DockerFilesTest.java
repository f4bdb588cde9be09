package org.frontline.docs;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.openapi.impl.Utils;
import org.frontline.config.ConfigLoader;
import org.frontline.config.FrontlineConfig;
import org.frontline.config.FrontlineConfig.Mode;
import org.frontline.config.Setting;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docker/Dockerfile and docker/compose.yaml, checked by reading (no Docker engine runs here): settings they set
 * exist, secrets have no default, what only the operator needs is not published beyond the machine.
 */
class DockerFilesTest {

  private static JsonObject compose() throws Exception {
    return yaml("docker/compose.yaml");
  }

  private static JsonObject yaml(String file) throws Exception {
    return Utils.yamlStringToJson(Files.readString(Path.of(file)))
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void everyServiceIsGivenOnlySettingsThatExist() throws Exception {
    JsonObject services = compose().getJsonObject("services");
    assertThat(environment(services, "app").keySet()).isNotEmpty();
    for (String service : services.fieldNames()) {
      for (String name : environment(services, service).keySet()) {
        if (name.startsWith("FRONTLINE_")) {
          assertThat(Setting.all()).as(service + " " + name).anyMatch(s -> s.env().equals(name));
        }
      }
    }
  }

  @Test
  void theAppUsesTheDatabaseAndTheBucketTheOtherServicesMake() throws Exception {
    JsonObject services = compose().getJsonObject("services");
    Map<String, String> given = readmeExports();
    Map<String, String> app = interpolated(services, "app", given);
    Map<String, String> postgres = interpolated(services, "postgres", given);
    assertThat(app.get("FRONTLINE_DATABASE_URL")).isEqualTo("postgresql://" + postgres.get("POSTGRES_USER") + ":"
        + postgres.get("POSTGRES_PASSWORD") + "@postgres:5432/" + postgres.get("POSTGRES_DB"));
    // The app signs every presigned URL with its key: it is minio-init's limited user, never MinIO's root.
    Map<String, String> minio = interpolated(services, "minio", given);
    Map<String, String> init = interpolated(services, "minio-init", given);
    assertThat(init.get("MINIO_ROOT_USER")).isEqualTo(minio.get("MINIO_ROOT_USER"));
    assertThat(init.get("MINIO_ROOT_PASSWORD")).isEqualTo(minio.get("MINIO_ROOT_PASSWORD"));
    assertThat(app.get("FRONTLINE_S3_ACCESS_KEY")).isEqualTo(init.get("MINIO_APP_USER"))
        .isNotEqualTo(minio.get("MINIO_ROOT_USER"));
    assertThat(app.get("FRONTLINE_S3_SECRET_KEY")).isEqualTo(init.get("MINIO_APP_PASSWORD"))
        .isNotEqualTo(minio.get("MINIO_ROOT_PASSWORD"));
    assertThat(app.get("FRONTLINE_S3_ENDPOINT")).isEqualTo("http://minio:9000");
    String policyFile = "/etc/frontline/frontline-app-policy.json";
    assertThat(services.getJsonObject("minio-init").getJsonArray("volumes"))
        .containsExactly("./minio/frontline-app-policy.json:" + policyFile + ":ro");
    assertThat(services.getJsonObject("minio-init").getString("entrypoint"))
        .contains("mc mb --ignore-existing local/" + app.get("FRONTLINE_S3_BUCKET") + " &&")
        .contains("mc admin user add local $${MINIO_APP_USER} $${MINIO_APP_PASSWORD}")
        .contains("mc admin policy create local frontline-app " + policyFile)
        .contains("mc admin policy attach local frontline-app --user $${MINIO_APP_USER}");
  }

  @Test
  void theAppsMinioPolicyAllowsItsOwnBucketsObjectsAndNothingElse() throws Exception {
    // The S3 actions MinioObjectStore calls (ensure the bucket, list orphans and multipart uploads, put, copy, stat,
    // get, remove, multipart parts, and the presigned GET/PUT signed with this key), on the one bucket.
    String bucket = interpolated(compose().getJsonObject("services"), "app", readmeExports()).get("FRONTLINE_S3_BUCKET");
    JsonObject policy = new JsonObject(Files.readString(Path.of("docker/minio/frontline-app-policy.json")));
    Map<String, List<Object>> actionsByResource = new LinkedHashMap<>();
    for (Object s : policy.getJsonArray("Statement")) {
      JsonObject statement = (JsonObject) s;
      assertThat(statement.getString("Effect")).isEqualTo("Allow");
      for (Object resource : statement.getJsonArray("Resource")) {
        actionsByResource.put((String) resource, statement.getJsonArray("Action").getList());
      }
    }
    assertThat(actionsByResource).containsOnlyKeys("arn:aws:s3:::" + bucket, "arn:aws:s3:::" + bucket + "/*");
    assertThat(actionsByResource.get("arn:aws:s3:::" + bucket))
        .containsExactlyInAnyOrder("s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads");
    assertThat(actionsByResource.get("arn:aws:s3:::" + bucket + "/*")).containsExactlyInAnyOrder("s3:GetObject",
        "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts");
  }

  @Test
  void theReadmesExportsMakeAProductionConfigurationWithThePublicUrlsGiven() throws Exception {
    // Every setting start requires is set; the URLs handed to phones and partners are the operator's, never a
    // default: presigned links to http://localhost:9000 sent each phone's photo upload to the phone itself.
    Map<String, String> given = readmeExports();
    FrontlineConfig config = ConfigLoader.load(Mode.PRODUCTION,
        interpolated(compose().getJsonObject("services"), "app", given), Map.of());
    assertThat(config.objectStore().publicEndpoint()).doesNotContain("localhost")
        .isEqualTo(given.get("FRONTLINE_S3_PUBLIC_ENDPOINT"));
    assertThat(config.tokens().issuer()).doesNotContain("localhost").isEqualTo(given.get("FRONTLINE_JWT_ISSUER"));
    assertThat(config.objectStore().endpoint()).isEqualTo("http://minio:9000");
    assertThat(config.database().host()).isEqualTo("postgres");
    assertThat(config.roles()).isEqualTo(FrontlineConfig.Roles.ALL);
  }

  @Test
  void everyImageIsPinnedToATagThatCanBePulled() throws Exception {
    // minio/minio:latest and minio/mc:latest stopped pulling at all when Docker Hub's minio repositories were
    // removed; a floating tag also moves an installation to another release (or licence) unasked.
    JsonObject services = compose().getJsonObject("services");
    for (String service : services.fieldNames()) {
      String image = services.getJsonObject(service).getString("image");
      if (image != null) {
        assertThat(image).as(service).matches(".+:[^:/]+").doesNotEndWith(":latest");
        if (image.contains("minio")) {
          assertThat(image).as(service).startsWith("quay.io/minio/");
        }
      }
    }
  }

  @Test
  void theAppWaitsForADatabaseThatListensOnTheNetwork() throws Exception {
    JsonObject services = compose().getJsonObject("services");
    assertThat(services.getJsonObject("app").getJsonObject("depends_on").getJsonObject("postgres")
        .getString("condition")).isEqualTo("service_healthy");
    // The postgres image initialises a new volume with a server on its Unix socket only (listen_addresses ''),
    // then restarts it: pg_isready on the socket says ready before the app could connect.
    assertThat(services.getJsonObject("postgres").getJsonObject("healthcheck").getJsonArray("test").getString(1))
        .startsWith("pg_isready -h 127.0.0.1 ");
  }

  @Test
  void theLongRunningServicesAreStartedAgainWhenTheyExit() throws Exception {
    // The image's JVM exits on OutOfMemoryError (-XX:+ExitOnOutOfMemoryError) for a supervisor to restart it;
    // without a policy the API stayed down after one, or after the machine rebooted. minio-init runs once.
    JsonObject services = compose().getJsonObject("services");
    for (String service : services.fieldNames()) {
      String restart = services.getJsonObject(service).getString("restart");
      assertThat(restart).as(service).isEqualTo(service.equals("minio-init") ? null : "unless-stopped");
    }
    assertThat(Files.readString(Path.of("docker/Dockerfile"))).contains("-XX:+ExitOnOutOfMemoryError");
  }

  @Test
  void theFirebaseOverrideGivesTheServiceAccountAsASecretFileTheImagesUserReads() throws Exception {
    // compose.yaml records pushes; the service account is never in the image, nor in compose.yaml itself.
    JsonObject firebase = yaml("docker/compose.firebase.yaml");
    Map<String, String> app = environment(firebase.getJsonObject("services"), "app");
    assertThat(app).containsOnlyKeys(Setting.PUSH_GATEWAY.env(), Setting.FIREBASE_CREDENTIALS_FILE.env())
        .containsEntry(Setting.PUSH_GATEWAY.env(), "firebase");
    JsonObject secret = firebase.getJsonObject("services").getJsonObject("app").getJsonArray("secrets")
        .getJsonObject(0);
    assertThat(app.get(Setting.FIREBASE_CREDENTIALS_FILE.env()))
        .isEqualTo("/run/secrets/" + secret.getString("target"));
    assertThat(firebase.getJsonObject("secrets").getJsonObject(secret.getString("source")).getString("file"))
        .startsWith("${FIREBASE_SERVICE_ACCOUNT_FILE:?");
    // A bind-mounted file keeps its owner and mode on the host: the README names the uid that must read it.
    assertThat(Files.readString(Path.of("docker/Dockerfile"))).contains("useradd --system --uid 10001 ");
    assertThat(Files.readString(Path.of("README.md"))).contains("docker/compose.firebase.yaml").contains("uid 10001");
  }

  @Test
  void secretsHaveNoDefault() throws Exception {
    // A default password is one everybody knows: MinIO's API is published (presigned URLs), so its root password
    // would open every photo. Each must be given (${VAR:?...}), never defaulted (${VAR:-...}).
    JsonObject services = compose().getJsonObject("services");
    String[][] secrets = {
        {"postgres", "POSTGRES_PASSWORD"}, {"minio", "MINIO_ROOT_PASSWORD"}, {"minio-init", "MINIO_ROOT_PASSWORD"},
        {"minio-init", "MINIO_APP_PASSWORD"},
        {"app", "FRONTLINE_DATABASE_URL"}, {"app", "FRONTLINE_S3_SECRET_KEY"}, {"app", "FRONTLINE_KEY_ENCRYPTION_KEY"}};
    for (String[] secret : secrets) {
      String value = services.getJsonObject(secret[0]).getJsonObject("environment").getString(secret[1]);
      assertThat(value).as(secret[0] + " " + secret[1]).contains(":?").doesNotContain(":-");
    }
  }

  @Test
  void onlyTheApiAndTheObjectStoreArePublishedBeyondTheMachine() throws Exception {
    JsonObject services = compose().getJsonObject("services");
    for (String service : services.fieldNames()) {
      JsonArray ports = services.getJsonObject(service).getJsonArray("ports", new JsonArray());
      for (Object port : ports) {
        String mapping = port.toString();
        boolean isPublic = mapping.equals("8080:8080") || mapping.equals("9000:9000");
        assertThat(isPublic || mapping.startsWith("127.0.0.1:")).as(service + " " + mapping).isTrue();
      }
    }
  }

  @Test
  void theImageRunsTheShadedJarAsANonRootUserAndChecksTheRealReadiness() throws Exception {
    String dockerfile = Files.readString(Path.of("docker/Dockerfile"));
    String pom = Files.readString(Path.of("pom.xml"));
    String jar = between(pom, "<finalName>", "</finalName>") + ".jar";
    assertThat(pom).contains("<outputFile>${project.build.directory}/" + jar + "</outputFile>");
    assertThat(dockerfile).contains("COPY --from=build /src/target/" + jar + " /app/" + jar)
        .contains("ENTRYPOINT [\"java\", \"-jar\", \"/app/" + jar + "\"]")
        .contains("USER frontline")
        .contains("http://127.0.0.1:" + Setting.MANAGEMENT_PORT.defaultValue().orElseThrow() + "/health/ready");
  }

  @Test
  void theBuildStageIsGivenEveryFolderThePomBuildsFromAndTheJdkItTargets() throws Exception {
    String dockerfile = Files.readString(Path.of("docker/Dockerfile"));
    String pom = Files.readString(Path.of("pom.xml"));
    String release = between(pom, "<maven.compiler.release>", "</maven.compiler.release>");
    assertThat(dockerfile).contains("FROM maven:3.9-eclipse-temurin-" + release + " AS build")
        .contains("FROM eclipse-temurin:" + release + "-jre-")
        .contains("RUN mvn -B -q -DskipTests package")
        .contains("COPY pom.xml .")
        .contains("COPY src src");
    Matcher directories = Pattern.compile("<directory>([^<]+)</directory>").matcher(pom);
    while (directories.find()) {
      String top = directories.group(1).split("/")[0];
      assertThat(dockerfile).as(directories.group(1)).containsPattern("(?m)^COPY " + top + " " + top + "$");
    }
  }

  @Test
  void theBuildContextHoldsOnlyWhatTheBuildStageCopies() throws Exception {
    // The context is the repository root, where dev mode keeps ./data (its key-encryption key among it).
    List<String> ignore = Files.readAllLines(Path.of(".dockerignore")).stream()
        .filter(line -> !line.isBlank() && !line.startsWith("#")).toList();
    assertThat(ignore.get(0)).isEqualTo("*");
    Matcher copies = Pattern.compile("(?m)^COPY (\\S+) ").matcher(Files.readString(Path.of("docker/Dockerfile")));
    List<String> copied = new ArrayList<>();
    while (copies.find()) {
      if (!copies.group(1).startsWith("--from")) {
        copied.add("!" + copies.group(1));
      }
    }
    assertThat(ignore.stream().filter(line -> line.startsWith("!")).toList()).containsExactlyElementsOf(copied);
  }

  @Test
  void theExposedAndPublishedPortsAreTheConfiguredOnes() throws Exception {
    String dockerfile = Files.readString(Path.of("docker/Dockerfile"));
    String api = Setting.HTTP_PORT.defaultValue().orElseThrow();
    String management = Setting.MANAGEMENT_PORT.defaultValue().orElseThrow();
    assertThat(dockerfile).containsPattern("(?m)^EXPOSE " + api + " " + management + "$");
    JsonObject app = compose().getJsonObject("services").getJsonObject("app");
    assertThat(environment(compose().getJsonObject("services"), "app"))
        .doesNotContainKeys(Setting.HTTP_PORT.env(), Setting.MANAGEMENT_PORT.env());
    assertThat(app.getJsonArray("ports").getList())
        .containsExactly(api + ":" + api, "127.0.0.1:" + management + ":" + management);
  }

  /**
   * What README's "With Docker" has the operator export before {@code docker compose up}, each with a value of the
   * shape it says (the README's {@code openssl} commands).
   */
  private static Map<String, String> readmeExports() throws Exception {
    String readme = Files.readString(Path.of("README.md"));
    int start = readme.indexOf("## With Docker");
    String section = readme.substring(start, readme.indexOf("\n## ", start));
    Map<String, String> exports = new LinkedHashMap<>();
    Matcher line = Pattern.compile("(?m)^export (.*)$").matcher(section);
    while (line.find()) {
      Matcher name = Pattern.compile("(\\w+)=").matcher(line.group(1).replaceAll("#.*", ""));
      while (name.find()) {
        exports.put(name.group(1), sample(name.group(1)));
      }
    }
    return exports;
  }

  private static String sample(String name) {
    byte[] random = new byte[name.equals("FRONTLINE_KEY_ENCRYPTION_KEY") ? 32 : 24];
    new SecureRandom().nextBytes(random);
    return switch (name) {
      case "FRONTLINE_KEY_ENCRYPTION_KEY" -> Base64.getEncoder().encodeToString(random);
      case "POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD", "MINIO_APP_PASSWORD" -> HexFormat.of().formatHex(random);
      case "FRONTLINE_JWT_ISSUER" -> "https://api.example.org";
      case "FRONTLINE_S3_PUBLIC_ENDPOINT" -> "https://media.example.org";
      case "FIREBASE_SERVICE_ACCOUNT_FILE" -> "/etc/frontline/firebase-service-account.json";
      default -> throw new AssertionError("README exports " + name + ": give the test a value of its shape");
    };
  }

  private static final Pattern VARIABLE = Pattern.compile("\\$\\$|\\$\\{(\\w+)(?::([-?])([^}]*))?}");

  /**
   * A service's environment as {@code docker compose} makes it from the operator's {@code given} variables:
   * {@code ${NAME}}, {@code ${NAME:-default}}, {@code ${NAME:?error}} (here a failed assertion) and {@code $$}.
   */
  private static Map<String, String> interpolated(JsonObject services, String service, Map<String, String> given) {
    Map<String, String> values = new LinkedHashMap<>();
    environment(services, service).forEach((name, value) -> {
      Matcher m = VARIABLE.matcher(value);
      StringBuilder out = new StringBuilder();
      while (m.find()) {
        String variable = m.group(1);
        String replacement = variable == null ? "$" : given.getOrDefault(variable, "");
        if (variable != null && replacement.isEmpty() && "-".equals(m.group(2))) {
          replacement = m.group(3);
        } else if (variable != null && replacement.isEmpty() && "?".equals(m.group(2))) {
          throw new AssertionError(service + " " + name + ": compose stops without " + variable + " ("
              + m.group(3) + "), which the README does not export");
        }
        m.appendReplacement(out, Matcher.quoteReplacement(replacement));
      }
      values.put(name, m.appendTail(out).toString());
    });
    return values;
  }

  /** A service's environment as written in compose.yaml (before interpolation). */
  private static Map<String, String> environment(JsonObject services, String service) {
    JsonObject environment = services.getJsonObject(service).getJsonObject("environment", new JsonObject());
    Map<String, String> values = new LinkedHashMap<>();
    environment.forEach(e -> values.put(e.getKey(), String.valueOf(e.getValue())));
    return values;
  }

  private static String between(String text, String start, String end) {
    int from = text.indexOf(start) + start.length();
    return text.substring(from, text.indexOf(end, from)).trim();
  }
}
