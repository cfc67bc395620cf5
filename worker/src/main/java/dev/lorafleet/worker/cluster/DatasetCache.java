package dev.lorafleet.worker.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Datasets this node received, stored by content hash under {@code <dir>/<sha256>.jsonl}: a dataset
 * used by several jobs travels once, and a file whose bytes do not match its hash is never used.
 */
public final class DatasetCache {
  private final Path dir;

  public DatasetCache(Path dir) {
    this.dir = dir;
  }

  public Path pathOf(String contentHash) {
    if (!contentHash.matches("[0-9a-f]{64}")) {
      throw new IllegalArgumentException("'" + contentHash + "' is not a SHA-256 content hash");
    }
    return dir.resolve(contentHash + ".jsonl");
  }

  public boolean contains(String contentHash) {
    return Files.isRegularFile(pathOf(contentHash));
  }

  /** A fresh partial file to append a download to. */
  public Path newPartial(String contentHash) throws IOException {
    Files.createDirectories(dir);
    return Files.createTempFile(dir, contentHash + ".", ".part");
  }

  /** Checks the partial download's hash and moves it into place. */
  public Path commit(String contentHash, Path partial) throws IOException {
    String actual = sha256(partial);
    if (!actual.equals(contentHash)) {
      Files.deleteIfExists(partial);
      throw new IOException(
          "dataset download is corrupt: expected SHA-256 " + contentHash + ", got " + actual);
    }
    Path target = pathOf(contentHash);
    Files.move(
        partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    return target;
  }

  /** Lowercase hex SHA-256 of a file. */
  public static String sha256(Path file) throws IOException {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JVM has no SHA-256", e);
    }
    byte[] buffer = new byte[1 << 16];
    try (InputStream in = Files.newInputStream(file)) {
      for (int n; (n = in.read(buffer)) > 0; ) {
        digest.update(buffer, 0, n);
      }
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  static void append(Path partial, byte[] bytes) throws IOException {
    try (OutputStream out =
        Files.newOutputStream(
            partial,
            java.nio.file.StandardOpenOption.CREATE,
            java.nio.file.StandardOpenOption.APPEND)) {
      out.write(bytes);
    }
  }
}
