package org.frontline.docs;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.openapi.impl.Utils;
import org.frontline.config.Setting;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docker/Dockerfile and docker/compose.yaml, checked by reading (no Docker engine runs here): settings they set
 * exist, secrets have no default, what only the operator needs is not published beyond the machine.
 */
class DockerFilesTest {

  private static JsonObject compose() throws Exception {
    return Utils.yamlStringToJson(Files.readString(Path.of("docker/compose.yaml")))
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void theAppIsGivenOnlySettingsThatExist() throws Exception {
    JsonObject app = compose().getJsonObject("services").getJsonObject("app").getJsonObject("environment");
    assertThat(app.fieldNames()).isNotEmpty();
    for (String name : app.fieldNames()) {
      assertThat(Setting.all()).as(name).anyMatch(s -> s.env().equals(name));
    }
  }

  @Test
  void secretsHaveNoDefault() throws Exception {
    // A default password is one everybody knows: MinIO's API is published (presigned URLs), so its root password
    // would open every photo. Each must be given (${VAR:?...}), never defaulted (${VAR:-...}).
    JsonObject services = compose().getJsonObject("services");
    String[][] secrets = {
        {"postgres", "POSTGRES_PASSWORD"}, {"minio", "MINIO_ROOT_PASSWORD"}, {"minio-init", "MINIO_ROOT_PASSWORD"},
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
    assertThat(pom).contains("<outputFile>${project.build.directory}/frontline.jar</outputFile>");
    assertThat(dockerfile).contains("COPY --from=build /src/target/frontline.jar /app/frontline.jar")
        .contains("ENTRYPOINT [\"java\", \"-jar\", \"/app/frontline.jar\"]")
        .contains("USER frontline")
        .contains("http://127.0.0.1:" + Setting.MANAGEMENT_PORT.defaultValue().orElseThrow() + "/health/ready");
  }
}
