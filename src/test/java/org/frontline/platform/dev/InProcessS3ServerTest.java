package org.frontline.platform.dev;

import io.minio.BucketExistsArgs;
import io.minio.GetObjectArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.errors.ErrorResponseException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class InProcessS3ServerTest {

  @Test
  void inMemoryStoreKeepsItsObjectsAcrossARestartOnTheSamePort() throws Exception {
    try (InProcessS3Server server = InProcessS3Server.start(null, "dev", "dev-secret")) {
      assertThat(server.endpoint()).isEqualTo("http://127.0.0.1:" + server.port());
      MinioClient sdk = client(server, "dev", "dev-secret");
      sdk.makeBucket(MakeBucketArgs.builder().bucket("media").build());
      put(sdk, "a/b.txt", "hello");

      server.stop();
      assertThatThrownBy(() -> sdk.bucketExists(BucketExistsArgs.builder().bucket("media").build()))
          .isInstanceOf(IOException.class);
      server.restart();

      assertThat(read(sdk, "a/b.txt")).isEqualTo("hello");
    }
  }

  @Test
  void filesystemStoreCreatesItsFolderAndWritesFilesThere(@TempDir Path tempDir) throws Exception {
    Path folder = tempDir.resolve("not/yet/there");
    try (InProcessS3Server server = InProcessS3Server.start(folder, "dev", "dev-secret")) {
      MinioClient sdk = client(server, "dev", "dev-secret");
      sdk.makeBucket(MakeBucketArgs.builder().bucket("media").build());
      put(sdk, "a/b.txt", "hello");

      assertThat(folder.resolve("media/a/b.txt")).hasContent("hello");
      assertThat(Files.isDirectory(folder)).isTrue();
    }
  }

  @Test
  void wrongSecretIsRefused() throws Exception {
    try (InProcessS3Server server = InProcessS3Server.start(null, "dev", "dev-secret")) {
      MinioClient intruder = client(server, "dev", "guessed");
      assertThatThrownBy(() -> intruder.makeBucket(MakeBucketArgs.builder().bucket("media").build()))
          .isInstanceOfSatisfying(ErrorResponseException.class,
              e -> assertThat(e.errorResponse().code()).isEqualTo("SignatureDoesNotMatch"));
    }
  }

  private static MinioClient client(InProcessS3Server server, String accessKey, String secretKey) {
    return MinioClient.builder().endpoint(server.endpoint()).credentials(accessKey, secretKey)
        .region("us-east-1").build();
  }

  private static void put(MinioClient sdk, String key, String text) throws Exception {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    sdk.putObject(PutObjectArgs.builder().bucket("media").object(key)
        .stream(new ByteArrayInputStream(bytes), bytes.length, -1).build());
  }

  private static String read(MinioClient sdk, String key) throws Exception {
    try (var in = sdk.getObject(GetObjectArgs.builder().bucket("media").object(key).build())) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
