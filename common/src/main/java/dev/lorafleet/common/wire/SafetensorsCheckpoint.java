package dev.lorafleet.common.wire;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The weights of a Hugging Face model directory: either one {@code model.safetensors} or the shards
 * listed by {@code model.safetensors.index.json}. Every shard is opened and validated up front;
 * tensors are then found by their Hugging Face name wherever they live.
 */
public final class SafetensorsCheckpoint implements AutoCloseable {
  public static final String SINGLE_FILE = "model.safetensors";
  public static final String INDEX_FILE = "model.safetensors.index.json";

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final Path directory;
  private final Map<String, SafetensorsFile> files;
  private final Map<String, SafetensorsFile> byTensor;

  private SafetensorsCheckpoint(
      Path directory, Map<String, SafetensorsFile> files, Map<String, SafetensorsFile> byTensor) {
    this.directory = directory;
    this.files = files;
    this.byTensor = byTensor;
  }

  /**
   * Opens the weights of a model directory.
   *
   * @throws SafetensorsException when there are no safetensors weights (naming a pickle checkpoint
   *     if that is what the directory holds), when the index is broken, or when a shard is corrupt
   */
  public static SafetensorsCheckpoint open(Path directory) {
    Path index = directory.resolve(INDEX_FILE);
    Path single = directory.resolve(SINGLE_FILE);
    if (Files.isRegularFile(index)) {
      return openIndexed(directory, index);
    }
    if (Files.isRegularFile(single)) {
      return fromFiles(directory, Map.of(SINGLE_FILE, SafetensorsFile.open(single)), null);
    }
    for (String pickle : new String[] {"pytorch_model.bin", "pytorch_model.bin.index.json"}) {
      if (Files.exists(directory.resolve(pickle))) {
        throw new SafetensorsException(
            directory,
            "has only a PyTorch pickle checkpoint ("
                + pickle
                + "); lorafleet reads safetensors only. Convert it with transformers'"
                + " save_pretrained(..., safe_serialization=True)");
      }
    }
    throw new SafetensorsException(
        directory, "no " + SINGLE_FILE + " or " + INDEX_FILE + " found: not a model directory?");
  }

  private static SafetensorsCheckpoint openIndexed(Path directory, Path index) {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(index.toFile());
    } catch (IOException e) {
      throw new SafetensorsException(index, "is not valid JSON: " + e.getMessage(), e);
    }
    JsonNode weightMap = root == null ? null : root.get("weight_map");
    if (weightMap == null || !weightMap.isObject()) {
      throw new SafetensorsException(index, "has no \"weight_map\" object");
    }
    Map<String, String> shardOf = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      shardOf.put(e.getKey(), e.getValue().asText());
    }
    Map<String, SafetensorsFile> files = new TreeMap<>();
    try {
      for (String shard : shardOf.values()) {
        if (!files.containsKey(shard)) {
          Path shardPath = directory.resolve(shard).normalize();
          if (!shardPath.startsWith(directory.normalize())) {
            throw new SafetensorsException(
                index, "shard '" + shard + "' lies outside " + directory);
          }
          if (!Files.isRegularFile(shardPath)) {
            throw new SafetensorsException(
                index, "lists shard '" + shard + "' which does not exist in " + directory);
          }
          files.put(shard, SafetensorsFile.open(shardPath));
        }
      }
      return fromFiles(directory, files, shardOf);
    } catch (RuntimeException e) {
      files.values().forEach(SafetensorsFile::close);
      throw e;
    }
  }

  private static SafetensorsCheckpoint fromFiles(
      Path directory, Map<String, SafetensorsFile> files, Map<String, String> shardOf) {
    Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
    if (shardOf == null) {
      for (SafetensorsFile f : files.values()) {
        f.tensors().keySet().forEach(name -> byTensor.put(name, f));
      }
    } else {
      for (Map.Entry<String, String> e : shardOf.entrySet()) {
        SafetensorsFile f = files.get(e.getValue());
        if (!f.contains(e.getKey())) {
          throw new SafetensorsException(
              f.path(),
              "the index says it holds tensor '" + e.getKey() + "' but the shard does not have it");
        }
        byTensor.put(e.getKey(), f);
      }
    }
    return new SafetensorsCheckpoint(
        directory, Collections.unmodifiableMap(files), Collections.unmodifiableMap(byTensor));
  }

  /** The model directory. */
  public Path directory() {
    return directory;
  }

  /** All tensor names, in index (or header) order. */
  public java.util.Set<String> names() {
    return byTensor.keySet();
  }

  /** Whether the checkpoint has this tensor. */
  public boolean contains(String name) {
    return byTensor.containsKey(name);
  }

  /**
   * The header entry of a tensor.
   *
   * @throws SafetensorsException naming the missing tensor and the directory
   */
  public TensorInfo info(String name) {
    return fileOf(name).info(name);
  }

  /** The tensor's values as float. */
  public float[] readFloats(String name) {
    return fileOf(name).readFloats(name);
  }

  /** The tensor's raw little-endian bytes (memory-mapped). */
  public ByteBuffer bytes(String name) {
    return fileOf(name).bytes(name);
  }

  /** The file that holds a tensor. */
  public SafetensorsFile fileOf(String name) {
    SafetensorsFile f = byTensor.get(name);
    if (f == null) {
      throw new SafetensorsException(directory, "missing tensor '" + name + "'");
    }
    return f;
  }

  /**
   * Writes {@code model.safetensors.index.json} for shards already written.
   *
   * @param weightMap tensor name → shard file name
   * @param totalSize the sum of the tensors' data bytes
   */
  public static void writeIndex(Path directory, Map<String, String> weightMap, long totalSize) {
    ObjectNode root = JSON.createObjectNode();
    root.putObject("metadata").put("total_size", totalSize);
    ObjectNode map = root.putObject("weight_map");
    new TreeMap<>(weightMap).forEach(map::put);
    try {
      Files.writeString(directory.resolve(INDEX_FILE), JSON.writeValueAsString(root) + "\n");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + directory.resolve(INDEX_FILE), e);
    }
  }

  @Override
  public void close() {
    files.values().forEach(SafetensorsFile::close);
  }
}
