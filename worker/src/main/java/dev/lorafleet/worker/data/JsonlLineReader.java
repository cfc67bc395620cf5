package dev.lorafleet.worker.data;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Streams the lines of a JSONL file as strict UTF-8 text, one bounded line at a time. A leading
 * UTF-8 byte-order mark and CRLF line ends are accepted; blank lines are passed over. A line longer
 * than the limit is reported (and read past) without ever being held whole in memory, so a 100 MB
 * line costs at most the limit.
 */
final class JsonlLineReader implements Closeable {
  /** Longest line accepted by default: generous for long-context records, bounded for memory. */
  static final int DEFAULT_MAX_LINE_BYTES = 16 << 20;

  /** One line: its text, or why it cannot be read. */
  sealed interface Line permits Text, Unreadable {
    long number();
  }

  record Text(long number, String text) implements Line {}

  record Unreadable(long number, String reason) implements Line {}

  private final InputStream in;
  private final int maxLineBytes;
  private final byte[] chunk = new byte[64 << 10];
  private int chunkPos;
  private int chunkLen;
  private byte[] line = new byte[4096];
  private int lineLen;
  private long lineNumber;
  private boolean atStart = true;
  private boolean eof;

  JsonlLineReader(Path file) throws IOException {
    this(Files.newInputStream(file), DEFAULT_MAX_LINE_BYTES);
  }

  JsonlLineReader(InputStream in, int maxLineBytes) {
    this.in = in;
    this.maxLineBytes = maxLineBytes;
  }

  /** The next non-blank line, or {@code null} at the end of the file. */
  Line next() throws IOException {
    while (true) {
      if (eof) {
        return null;
      }
      lineLen = 0;
      boolean tooLong = false;
      long bytes = 0;
      boolean sawNewline = false;
      while (!sawNewline) {
        if (chunkPos == chunkLen && !fill()) {
          break;
        }
        int start = chunkPos;
        int end = start;
        while (end < chunkLen && chunk[end] != '\n') {
          end++;
        }
        sawNewline = end < chunkLen;
        int n = end - start;
        bytes += n;
        if (!tooLong) {
          if (lineLen + n > maxLineBytes) {
            tooLong = true;
            lineLen = 0;
          } else {
            append(start, n);
          }
        }
        chunkPos = sawNewline ? end + 1 : end;
      }
      if (!sawNewline) {
        eof = true;
        if (bytes == 0) {
          return null;
        }
      }
      lineNumber++;
      boolean first = atStart;
      atStart = false;
      if (tooLong) {
        return new Unreadable(
            lineNumber,
            "line is "
                + bytes
                + " bytes, longer than the limit of "
                + maxLineBytes
                + " bytes; split the record or shorten it");
      }
      int from = 0;
      if (first
          && lineLen >= 3
          && (line[0] & 0xff) == 0xEF
          && (line[1] & 0xff) == 0xBB
          && (line[2] & 0xff) == 0xBF) {
        from = 3;
      }
      int to = lineLen;
      if (to > from && line[to - 1] == '\r') {
        to--;
      }
      if (isBlank(from, to)) {
        if (eof) {
          return null;
        }
        continue;
      }
      return decode(from, to);
    }
  }

  /** Lines read so far, blank ones included. */
  long linesRead() {
    return lineNumber;
  }

  private boolean fill() throws IOException {
    int n = in.read(chunk);
    while (n == 0) {
      n = in.read(chunk);
    }
    if (n < 0) {
      chunkPos = chunkLen = 0;
      return false;
    }
    chunkPos = 0;
    chunkLen = n;
    return true;
  }

  private void append(int start, int n) {
    if (lineLen + n > line.length) {
      line = Arrays.copyOf(line, Math.min(maxLineBytes, Math.max(lineLen + n, line.length * 2)));
    }
    System.arraycopy(chunk, start, line, lineLen, n);
    lineLen += n;
  }

  private boolean isBlank(int from, int to) {
    for (int i = from; i < to; i++) {
      byte b = line[i];
      if (b != ' ' && b != '\t' && b != '\r') {
        return false;
      }
    }
    return true;
  }

  private Line decode(int from, int to) {
    CharsetDecoder decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer bytes = ByteBuffer.wrap(line, from, to - from);
    CharBuffer chars = CharBuffer.allocate(to - from);
    CoderResult result = decoder.decode(bytes, chars, true);
    if (result.isError()) {
      return new Unreadable(
          lineNumber, "invalid UTF-8 at byte " + (bytes.position() - from + 1) + " of the line");
    }
    decoder.flush(chars);
    chars.flip();
    return new Text(lineNumber, chars.toString());
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
