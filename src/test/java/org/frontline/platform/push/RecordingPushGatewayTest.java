package org.frontline.platform.push;

import org.frontline.platform.push.PushResult.Delivered;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RecordingPushGatewayTest {

  private final RecordingPushGateway gateway = new RecordingPushGateway(3);

  @Test
  void everyMessageIsDeliveredWithADistinctRecordedId() throws Exception {
    List<PushResult> results = send(push("a"), push("b"));

    assertThat(results).hasSize(2).allSatisfy(r ->
        assertThat(((Delivered) r).messageId()).matches("recorded-[0-9a-f-]{36}"));
    assertThat(results.get(0)).isNotEqualTo(results.get(1));
  }

  @Test
  void recentKeepsTheLastNNewestLast() throws Exception {
    send(push("1"), push("2"));
    send(push("3"), push("4"));

    assertThat(gateway.recent()).extracting(PushMessage::token).containsExactly("2", "3", "4");
    assertThat(gateway.recent().get(2)).isEqualTo(push("4"));
  }

  @Test
  void recentIsAnImmutableSnapshot() throws Exception {
    send(push("1"));
    List<PushMessage> snapshot = gateway.recent();

    send(push("2"));

    assertThat(snapshot).extracting(PushMessage::token).containsExactly("1");
    assertThatThrownBy(() -> snapshot.add(push("x"))).isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void clearForgetsEverything() throws Exception {
    send(push("1"));
    gateway.clear();
    assertThat(gateway.recent()).isEmpty();
  }

  @Test
  void emptyListAnswersNothing() throws Exception {
    assertThat(send()).isEmpty();
    assertThat(gateway.recent()).isEmpty();
  }

  @Test
  void defaultCapacityIs1000() throws Exception {
    RecordingPushGateway big = new RecordingPushGateway();
    big.send(IntStream.range(0, 1001).mapToObj(i -> push("t" + i)).toList())
        .toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);

    assertThat(big.recent()).hasSize(1000);
    assertThat(big.recent().get(0).token()).isEqualTo("t1");
    assertThat(big.recent().get(999).token()).isEqualTo("t1000");
  }

  @Test
  void nameIsRecordingAndCapacityMustBePositive() {
    assertThat(gateway.name()).isEqualTo("recording");
    assertThatThrownBy(() -> new RecordingPushGateway(0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void tokensAreShortenedForLogs() {
    assertThat(RecordingPushGateway.shorten("abcdefghijklmnopqrstuvwxyz")).isEqualTo("abcdef…wxyz");
    assertThat(RecordingPushGateway.shorten("short")).isEqualTo("short");
  }

  private List<PushResult> send(PushMessage... messages) throws Exception {
    return gateway.send(List.of(messages)).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  private static PushMessage push(String token) {
    return new PushMessage(token, "title", "body", Map.of("k", "v"), null, false, Duration.ofMinutes(5));
  }
}
