package org.frontline.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;

/**
 * A request sent on a raw socket as a phone with {@code Expect: 100-continue} sends it (RFC 9110 10.1.1): the head
 * first, the body only once a 100 Continue came. What the server answered (interim and final, in order), and
 * whether it then closed the connection.
 */
public final class ExpectContinue {
  private ExpectContinue() {}

  /** Everything answered, in order (a 100's head, then the final answer's head and body). */
  public record Exchange(String answer, boolean continued, boolean closed) {
    /** The final answer's status. */
    public int status() {
      String last = answer.substring(continued ? answer.indexOf("\r\n\r\n") + 4 : 0);
      return Integer.parseInt(last.substring(9, 12));
    }
  }

  /**
   * Sends {@code head} (request line and header fields, ending with the empty line) with
   * {@code Expect: 100-continue} added, then {@code body} only if a 100 comes; after the final answer, waits up to
   * {@code closeWithin} for the server to close the connection.
   */
  public static Exchange send(int port, String head, byte[] body, Duration closeWithin) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(15_000);
      OutputStream out = socket.getOutputStream();
      out.write((head.substring(0, head.length() - 2) + "Expect: 100-continue\r\n\r\n")
          .getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = socket.getInputStream();
      String first = response(in);
      boolean continued = first.startsWith("HTTP/1.1 100 ");
      String answer = first;
      if (continued) {
        out.write(body);
        out.flush();
        answer += response(in);
      }
      socket.setSoTimeout((int) Math.max(1, closeWithin.toMillis()));
      boolean closed;
      try {
        closed = in.read() == -1;
      } catch (SocketTimeoutException open) {
        closed = false;
      } catch (IOException reset) {
        closed = true;
      }
      return new Exchange(answer, continued, closed);
    }
  }

  /** One answer: its head, and its body when it declares a Content-Length. */
  private static String response(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    while (matched < 4) {
      int c = in.read();
      if (c == -1) {
        throw new IOException("closed after: " + head.toString(StandardCharsets.ISO_8859_1));
      }
      head.write(c);
      matched = c == "\r\n\r\n".charAt(matched) ? matched + 1 : c == '\r' ? 1 : 0;
    }
    String text = head.toString(StandardCharsets.ISO_8859_1);
    var length = java.util.regex.Pattern.compile("\r\ncontent-length: *(\\d+)").matcher(text.toLowerCase(Locale.ROOT));
    if (text.startsWith("HTTP/1.1 1") || !length.find()) {
      return text;
    }
    return text + new String(in.readNBytes(Integer.parseInt(length.group(1))), StandardCharsets.UTF_8);
  }
}
