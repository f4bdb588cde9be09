package org.frontline.testing;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.slf4j.LoggerFactory;

/** What one class logs while a test runs, in a pattern of the test's choosing; closing stops the capture. */
public final class LogCapture implements AutoCloseable {
  private final ch.qos.logback.classic.Logger logger;
  private final OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  private LogCapture(Class<?> of, String pattern) {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern(pattern);
    encoder.start();
    appender.setContext(context);
    appender.setEncoder(encoder);
    appender.setOutputStream(out);
    appender.start();
    logger = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(of);
    logger.addAppender(appender);
  }

  /** Captures what {@code of} logs, each event in {@code pattern} (logback's, e.g. "%level %msg%n"). */
  public static LogCapture of(Class<?> of, String pattern) {
    return new LogCapture(of, pattern);
  }

  /** Everything captured so far. */
  public String text() {
    return out.toString(StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    logger.detachAppender(appender);
    appender.stop();
  }
}
