package dev.lorafleet.coordinator.cluster;

import dev.lorafleet.common.protocol.DatasetChunk;
import dev.lorafleet.common.protocol.DatasetRef;
import dev.lorafleet.worker.cluster.DatasetCache;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The datasets the coordinator offers to workers, by content hash. Blocking file I/O: call it from
 * the blocking executor.
 */
public final class DatasetStore {
  /** The largest chunk a worker may ask for (well within Pekko's frame size). */
  public static final int MAX_CHUNK_BYTES = 192 * 1024;

  private final ConcurrentHashMap<String, Path> files = new ConcurrentHashMap<>();

  /** Hashes a dataset file and offers it under that hash. */
  public DatasetRef offer(String name, Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IOException("dataset " + name + " is not a readable file: " + file);
    }
    String hash = DatasetCache.sha256(file);
    files.put(hash, file);
    return new DatasetRef(name, hash, Files.size(file));
  }

  /** Reads one chunk; an unknown hash or a read error comes back as the chunk's error. */
  public DatasetChunk chunk(String contentHash, long offset, int maxBytes) {
    Path file = files.get(contentHash);
    if (file == null) {
      return new DatasetChunk(contentHash, offset, new byte[0], 0, "no dataset " + contentHash);
    }
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = channel.size();
      int length = (int) Math.max(0, Math.min(Math.min(maxBytes, MAX_CHUNK_BYTES), size - offset));
      ByteBuffer buffer = ByteBuffer.allocate(length);
      while (buffer.hasRemaining() && channel.read(buffer, offset + buffer.position()) > 0) {
        // keep reading until the chunk is full
      }
      return new DatasetChunk(
          contentHash, offset, Arrays.copyOf(buffer.array(), buffer.position()), size, null);
    } catch (IOException e) {
      return new DatasetChunk(
          contentHash, offset, new byte[0], 0, "cannot read " + file + ": " + e.getMessage());
    }
  }
}
