package dev.lorafleet.worker.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class JsonlLineReaderTest {
  /** Streams {@code size} bytes of 'x' then a short good line, without holding them. */
  private static InputStream hugeLineThen(long size, String next) {
    byte[] tail = ("\n" + next + "\n").getBytes(StandardCharsets.UTF_8);
    return new InputStream() {
      long pos;

      @Override
      public int read() {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0];
      }

      @Override
      public int read(byte[] b, int off, int len) {
        long total = size + tail.length;
        if (pos >= total) {
          return -1;
        }
        int n = (int) Math.min(len, total - pos);
        int filler = (int) Math.max(0, Math.min(n, size - pos));
        java.util.Arrays.fill(b, off, off + filler, (byte) 'x');
        for (int i = filler; i < n; i++) {
          b[off + i] = tail[(int) (pos + i - size)];
        }
        pos += n;
        return n;
      }
    };
  }

  @Test
  void reportsAHundredMegabyteLineWithoutHoldingItAndReadsOn() throws IOException {
    long size = 100L << 20;
    try (JsonlLineReader r = new JsonlLineReader(hugeLineThen(size, "{\"a\":1}"), 1 << 20)) {
      JsonlLineReader.Line first = r.next();
      assertThat(first).isInstanceOf(JsonlLineReader.Unreadable.class);
      assertThat(((JsonlLineReader.Unreadable) first).reason())
          .isEqualTo(
              "line is "
                  + size
                  + " bytes, longer than the limit of 1048576 bytes; split the record or shorten"
                  + " it");
      JsonlLineReader.Line second = r.next();
      assertThat(second).isEqualTo(new JsonlLineReader.Text(2, "{\"a\":1}"));
      assertThat(r.next()).isNull();
    }
  }

  @Test
  void acceptsALineExactlyAtTheLimit() throws IOException {
    String line = "y".repeat(64);
    try (JsonlLineReader r =
        new JsonlLineReader(
            new ByteArrayInputStream((line + "\n").getBytes(StandardCharsets.UTF_8)), 64)) {
      assertThat(r.next()).isEqualTo(new JsonlLineReader.Text(1, line));
    }
  }

  @Test
  void decodesMultiByteCharactersSplitAcrossReads() throws IOException {
    String text = "é😀".repeat(40_000);
    byte[] bytes = (text + "\n").getBytes(StandardCharsets.UTF_8);
    try (JsonlLineReader r = new JsonlLineReader(new ByteArrayInputStream(bytes), 1 << 20)) {
      assertThat(((JsonlLineReader.Text) r.next()).text()).isEqualTo(text);
    }
  }

  @Test
  void stripsTheByteOrderMarkOnlyAtTheStartOfTheFile() throws IOException {
    byte[] bytes = "\uFEFFa\n\uFEFFb\n".getBytes(StandardCharsets.UTF_8);
    try (JsonlLineReader r = new JsonlLineReader(new ByteArrayInputStream(bytes), 1 << 20)) {
      assertThat(((JsonlLineReader.Text) r.next()).text()).isEqualTo("a");
      assertThat(((JsonlLineReader.Text) r.next()).text()).isEqualTo("\uFEFFb");
    }
  }
}
