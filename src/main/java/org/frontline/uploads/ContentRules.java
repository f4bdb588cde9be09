package org.frontline.uploads;

import org.frontline.media.MediaBytes;
import org.frontline.media.MediaSniffer;
import org.frontline.media.PixelCap;
import org.frontline.media.SniffResult;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * The content rules of both upload paths, on the head (and tail) of an upload's bytes, never on what the client
 * said: the type is sniffed ({@link MediaSniffer}: JPEG, PNG, HEIC/HEIF only; anything else, polyglots included, is
 * 415), the declared dimensions are capped from the header alone before any decoding ({@link PixelCap}: 422), and
 * the sniffed type must be of the declared {@code contentType}'s family (JPEG, PNG, HEIF): a PNG declared as
 * image/jpeg is 415 too, since the bytes are not of the media type the client declared.
 *
 * <p>The header must declare the dimensions within the first {@link #HEAD} bytes (a JPEG's frame header comes after
 * at most a few 64 KiB APPn segments; a phone's HEIF {@code meta} box is a few KiB), or the photo is refused (422).
 * Blocking-free but CPU work over up to 256 KiB: callers run it on a worker.
 */
final class ContentRules {
  /** The head examined: enough for the magic number, embedded markup (first 64 KiB) and the image header. */
  static final int HEAD = 256 * 1024;
  /** The tail examined at completion: where a ZIP end record lies (22 bytes + a comment of up to 65535). */
  static final int TAIL = 22 + 65535;

  private static final PixelCap CAP = PixelCap.DEFAULT;

  private ContentRules() {}

  /** A refusal: 415 or 422 with the reason (fit to show the uploader and to record on the attachment). */
  static final class Refused extends RuntimeException {
    final ProblemType type;
    final String reason;

    Refused(ProblemType type, String reason) {
      super(reason, null, false, false);
      this.type = type;
      this.reason = reason;
    }

    /** The problem answered to the uploader. */
    RuntimeException problem(String what) {
      String detail = type == ProblemType.UNSUPPORTED_MEDIA_TYPE
          ? "The " + what + " is not an allowed photo (JPEG, PNG, HEIC/HEIF): " + reason + "."
          : "The " + what + " was refused before decoding: " + reason + ".";
      return Problem.of(type, detail).withErrors(List.of(new Problem.FieldError("content", reason))).toException();
    }
  }

  /**
   * @param head     the first bytes (up to {@link #HEAD}), or the whole file when it is that small
   * @param tail     the last bytes (up to {@link #TAIL}); the head again when the tail is not known yet
   * @return the sniffed content type
   * @throws Refused when a rule is broken
   */
  static String check(byte[] head, byte[] tail) {
    SniffResult sniffed = new MediaSniffer().sniff(head, tail);
    if (sniffed instanceof SniffResult.Refused refused) {
      throw new Refused(ProblemType.UNSUPPORTED_MEDIA_TYPE, refused.reason());
    }
    String type = ((SniffResult.Sniffed) sniffed).contentType();
    PixelCap.Result capped;
    try {
      capped = CAP.check(MediaBytes.of(head), type);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    if (capped instanceof PixelCap.Result.Refused refused) {
      String reason = refused.dimensions().isEmpty()
          ? "the image header declares no readable dimensions within its first " + HEAD / 1024 + " KiB"
          : refused.reason();
      throw new Refused(ProblemType.UNPROCESSABLE, reason);
    }
    return type;
  }
}
