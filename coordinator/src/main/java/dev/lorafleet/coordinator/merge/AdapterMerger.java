package dev.lorafleet.coordinator.merge;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorafleet.common.lora.AdapterLayout;
import dev.lorafleet.common.lora.PeftAdapter;
import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.common.model.Projection;
import dev.lorafleet.common.wire.DType;
import dev.lorafleet.common.wire.HalfFloats;
import dev.lorafleet.common.wire.SafetensorsCheckpoint;
import dev.lorafleet.common.wire.SafetensorsWriter;
import dev.lorafleet.common.wire.TensorInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * Writes {@code W' = W + s·B·A} for every weight a PEFT adapter targets ({@code s = α/r}, or {@code
 * α/√r} with rsLoRA) and copies everything else, producing a Hugging Face model directory: sharded
 * {@code model-0000i-of-0000n.safetensors} with {@code model.safetensors.index.json} (also for one
 * shard), {@code config.json} with {@code torch_dtype} set to the output dtype, and the tokenizer
 * and other small files copied.
 *
 * <p>Memory stays bounded by one tensor: shards are written one after the other, each tensor is
 * produced only when the writer reaches it, untouched tensors are streamed from the memory-mapped
 * input, and a merged weight is computed row by row into its output buffer. The sum {@code W +
 * s·Σ_k B[i,k]·A[k,j]} is formed in double and rounded once to float (then to bf16/fp16 when that
 * is the output dtype), so an fp32 output is the correctly rounded fp32 value of the merged weight
 * up to the double rounding of the sum.
 *
 * <p>Never touches its inputs: it refuses an output that is, or lies inside, the model or adapter
 * directory, or that exists and is not empty; it writes into a temporary sibling directory and
 * renames it into place only when complete, so a failed merge leaves no half model behind.
 */
public final class AdapterMerger {
  /** Hugging Face's default {@code max_shard_size} of {@code save_pretrained}. */
  public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;

  public static final String CONFIG_FILE = "config.json";

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /**
   * How to write the merged model.
   *
   * @param dtype F32, F16 or BF16 for floating-point tensors; null keeps the model's {@code
   *     torch_dtype}
   * @param maxShardBytes start a new shard before one would exceed this many tensor bytes
   */
  public record Options(DType dtype, long maxShardBytes) {
    public static final Options DEFAULTS = new Options(null, DEFAULT_MAX_SHARD_BYTES);

    public Options {
      if (dtype != null && dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
        throw new IllegalArgumentException("merge writes bf16, fp16 or fp32, not " + dtype);
      }
      if (maxShardBytes < 1) {
        throw new IllegalArgumentException("maxShardBytes must be positive: " + maxShardBytes);
      }
    }
  }

  /**
   * What a merge wrote.
   *
   * @param mergedWeights the weights with an adapter folded in
   * @param absentModules adapter modules the adapter file left out (those weights were copied)
   */
  public record Result(
      Path out,
      DType dtype,
      double scaling,
      int mergedWeights,
      List<String> shards,
      long totalBytes,
      List<String> copiedFiles,
      List<String> absentModules) {}

  private AdapterMerger() {}

  /**
   * Merges {@code adapterDir} into the model in {@code modelDir} and writes the result to {@code
   * outDir}.
   *
   * @param progress receives a sentence per shard written (for the command line), may be a no-op
   * @throws MergeException when the output would overwrite an input, or when a base weight's shape
   *     is not what the model's config says
   * @throws dev.lorafleet.common.lora.PeftFormatException when the adapter does not fit the model,
   *     naming the tensor and both shapes
   */
  public static Result merge(
      Path modelDir, Path adapterDir, Path outDir, Options options, Consumer<String> progress) {
    Path out = checkOutput(modelDir, adapterDir, outDir);
    ModelConfig model = ModelConfig.load(modelDir);
    PeftAdapter.Loaded adapter = PeftAdapter.read(adapterDir, model);
    DType dtype = options.dtype() != null ? options.dtype() : defaultDtype(model);
    try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(modelDir)) {
      Map<String, Target> targets = targets(model, adapter, checkpoint);
      List<List<String>> shards = planShards(checkpoint, dtype, options.maxShardBytes());
      Path temp =
          out.resolveSibling("." + out.getFileName() + ".merging-" + ProcessHandle.current().pid());
      deleteRecursively(temp);
      try {
        Files.createDirectories(out.getParent());
        Files.createDirectories(temp);
        Map<String, String> weightMap = new LinkedHashMap<>();
        List<String> shardNames = new ArrayList<>();
        long totalBytes = 0;
        for (int s = 0; s < shards.size(); s++) {
          String shardName =
              String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", s + 1, shards.size());
          SafetensorsWriter writer = new SafetensorsWriter();
          long shardBytes = 0;
          for (String name : shards.get(s)) {
            shardBytes += addTensor(writer, checkpoint, name, targets.get(name), dtype);
            weightMap.put(name, shardName);
          }
          writer.write(temp.resolve(shardName));
          totalBytes += shardBytes;
          shardNames.add(shardName);
          progress.accept(
              String.format(
                  Locale.ROOT,
                  "wrote %s (%d tensors, %.2f GB)",
                  shardName,
                  shards.get(s).size(),
                  shardBytes / 1e9));
        }
        SafetensorsCheckpoint.writeIndex(temp, weightMap, totalBytes);
        writeConfig(modelDir.resolve(CONFIG_FILE), temp.resolve(CONFIG_FILE), dtype);
        List<String> copied = copyOtherFiles(modelDir, temp);
        fsyncAll(temp);
        if (Files.isDirectory(out)) {
          Files.delete(out); // checked empty above; rename cannot replace it portably
        }
        Files.move(temp, out, StandardCopyOption.ATOMIC_MOVE);
        fsync(out.getParent());
        return new Result(
            out,
            dtype,
            adapter.config().scaling(),
            targets.size(),
            shardNames,
            totalBytes,
            copied,
            adapter.absentModules());
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write the merged model to " + out + ": " + e, e);
      } finally {
        deleteRecursively(temp);
      }
    }
  }

  /** Refuses outputs that could overwrite an input; returns the absolute output path. */
  static Path checkOutput(Path modelDir, Path adapterDir, Path outDir) {
    if (!Files.isDirectory(modelDir)) {
      throw new MergeException("--model " + modelDir + " is not a directory");
    }
    if (!Files.isDirectory(adapterDir)) {
      throw new MergeException("--adapter " + adapterDir + " is not a directory");
    }
    try {
      Path out = outDir.toAbsolutePath().normalize();
      if (out.getParent() == null) {
        throw new MergeException("--out " + outDir + " cannot be the file system root");
      }
      // compare real paths so that a symbolic link cannot smuggle the output into an input;
      // nothing is created until every check has passed
      Path realOut = realPath(out);
      for (Path input : List.of(modelDir, adapterDir)) {
        Path realInput = input.toRealPath();
        if (realOut.startsWith(realInput)) {
          throw new MergeException(
              "--out "
                  + outDir
                  + " is inside the input "
                  + input
                  + "; merge never writes into its inputs, choose a new directory");
        }
      }
      if (Files.exists(realOut)) {
        if (!Files.isDirectory(realOut)) {
          throw new MergeException("--out " + outDir + " exists and is not a directory");
        }
        try (Stream<Path> entries = Files.list(realOut)) {
          if (entries.findAny().isPresent()) {
            throw new MergeException(
                "--out "
                    + outDir
                    + " exists and is not empty; merge never overwrites, choose a new directory");
          }
        }
      }
      return realOut;
    } catch (IOException e) {
      throw new MergeException("cannot check --out " + outDir + ": " + e.getMessage(), e);
    }
  }

  /** The real path of {@code path}, resolved through its deepest existing ancestor. */
  private static Path realPath(Path path) throws IOException {
    Path existing = path;
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    if (existing == null) {
      return path;
    }
    return existing.toRealPath().resolve(existing.relativize(path));
  }

  private static DType defaultDtype(ModelConfig model) {
    try {
      DType d = DType.parse(model.torchDtype());
      return d == DType.F32 || d == DType.F16 || d == DType.BF16 ? d : DType.BF16;
    } catch (IllegalArgumentException e) {
      return DType.BF16;
    }
  }

  /** One weight to merge: its adapter slices and the scale. */
  private record Target(float[] a, float[] b, int r, double scaling) {}

  private static Map<String, Target> targets(
      ModelConfig model, PeftAdapter.Loaded adapter, SafetensorsCheckpoint checkpoint) {
    AdapterLayout layout = adapter.layout();
    Set<String> absent = Set.copyOf(adapter.absentModules());
    Map<String, Target> targets = new HashMap<>();
    double scaling = adapter.config().scaling();
    int r = adapter.config().r();
    for (int layer = 0; layer < model.numHiddenLayers(); layer++) {
      for (Projection p : adapter.config().projections()) {
        if (absent.contains("layers." + layer + "." + p.hfName())) {
          continue;
        }
        String name = ModelConfig.weightName(layer, p);
        if (!checkpoint.contains(name)) {
          throw new MergeException(
              checkpoint.directory()
                  + ": the adapter targets '"
                  + name
                  + "' but the model's weights have no such tensor");
        }
        TensorInfo info = checkpoint.info(name);
        long[] expected = {model.outFeatures(p), model.inFeatures(p)};
        if (!Arrays.equals(info.shape(), expected)) {
          throw new MergeException(
              checkpoint.directory()
                  + ": '"
                  + name
                  + "' has shape "
                  + info.shapeString()
                  + " but config.json says "
                  + Arrays.toString(expected)
                  + "; the weights and config.json disagree");
        }
        if (!info.dtype().isFloating()) {
          throw new MergeException(
              checkpoint.directory() + ": '" + name + "' is " + info.dtype() + ", not floating");
        }
        float[] a =
            layout.slice(adapter.parameters(), layout.entry(layer, p, AdapterLayout.Kind.A));
        float[] b =
            layout.slice(adapter.parameters(), layout.entry(layer, p, AdapterLayout.Kind.B));
        targets.put(name, new Target(a, b, r, scaling));
      }
    }
    return targets;
  }

  /** Tensors in natural name order (layer 2 before layer 10), cut into shards by size. */
  private static List<List<String>> planShards(
      SafetensorsCheckpoint checkpoint, DType dtype, long maxShardBytes) {
    List<String> names = new ArrayList<>(checkpoint.names());
    names.sort(NATURAL_ORDER);
    List<List<String>> shards = new ArrayList<>();
    List<String> current = new ArrayList<>();
    long bytes = 0;
    for (String name : names) {
      long size = outputBytes(checkpoint.info(name), dtype);
      if (!current.isEmpty() && bytes + size > maxShardBytes) {
        shards.add(current);
        current = new ArrayList<>();
        bytes = 0;
      }
      current.add(name);
      bytes += size;
    }
    if (!current.isEmpty() || shards.isEmpty()) {
      shards.add(current);
    }
    return shards;
  }

  private static DType outputDtype(TensorInfo info, DType dtype) {
    return info.dtype().isFloating() ? dtype : info.dtype();
  }

  private static long outputBytes(TensorInfo info, DType dtype) {
    return info.elementCount() * outputDtype(info, dtype).byteSize();
  }

  /** Adds one tensor to a shard, its bytes produced only when the writer reaches it. */
  private static long addTensor(
      SafetensorsWriter writer,
      SafetensorsCheckpoint checkpoint,
      String name,
      Target target,
      DType dtype) {
    TensorInfo info = checkpoint.info(name);
    DType outType = outputDtype(info, dtype);
    long bytes = outputBytes(info, dtype);
    if (bytes > Integer.MAX_VALUE) {
      throw new MergeException(
          "tensor '"
              + name
              + "' would be "
              + bytes
              + " bytes as "
              + outType
              + ", over the 2 GiB one tensor may have here; choose a 16-bit --dtype");
    }
    if (target != null) {
      writer.addLazy(name, outType, info.shape(), () -> merged(checkpoint, info, target, outType));
    } else if (outType == info.dtype()) {
      writer.addLazy(name, outType, info.shape(), () -> checkpoint.bytes(name));
    } else {
      writer.addLazy(
          name,
          outType,
          info.shape(),
          () -> SafetensorsWriter.encode(outType, checkpoint.readFloats(name)));
    }
    return bytes;
  }

  /** {@code W + s·B·A}, row by row, straight into the output encoding. */
  private static ByteBuffer merged(
      SafetensorsCheckpoint checkpoint, TensorInfo info, Target t, DType outType) {
    int rows = Math.toIntExact(info.shape()[0]);
    int cols = Math.toIntExact(info.shape()[1]);
    ByteBuffer src = checkpoint.bytes(info.name());
    DType inType = info.dtype();
    ByteBuffer dst =
        ByteBuffer.allocate(rows * cols * outType.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
    IntStream.range(0, rows)
        .parallel()
        .forEach(
            i -> {
              double[] delta = new double[cols];
              for (int k = 0; k < t.r(); k++) {
                double bik = t.b()[i * t.r() + k];
                if (bik == 0) {
                  continue;
                }
                int base = k * cols;
                for (int j = 0; j < cols; j++) {
                  delta[j] += bik * t.a()[base + j];
                }
              }
              int rowStart = i * cols;
              for (int j = 0; j < cols; j++) {
                double w = read(src, inType, rowStart + j);
                write(dst, outType, rowStart + j, (float) (w + t.scaling() * delta[j]));
              }
            });
    return dst;
  }

  private static double read(ByteBuffer src, DType type, int index) {
    return switch (type) {
      case F32 -> src.getFloat(index * 4);
      case F64 -> src.getDouble(index * 8);
      case BF16 -> HalfFloats.bf16ToFloat(src.getShort(index * 2));
      case F16 -> HalfFloats.f16ToFloat(src.getShort(index * 2));
      default -> throw new IllegalStateException("not a floating type: " + type);
    };
  }

  private static void write(ByteBuffer dst, DType type, int index, float value) {
    switch (type) {
      case F32 -> dst.putFloat(index * 4, value);
      case BF16 -> dst.putShort(index * 2, HalfFloats.floatToBf16(value));
      case F16 -> dst.putShort(index * 2, HalfFloats.floatToF16(value));
      default -> throw new IllegalStateException("merge does not write " + type);
    }
  }

  /** {@code config.json} with {@code torch_dtype} (and newer transformers' {@code dtype}) set. */
  private static void writeConfig(Path from, Path to, DType dtype) throws IOException {
    JsonNode root = JSON.readTree(from.toFile());
    if (!(root instanceof ObjectNode config)) {
      throw new MergeException(from + ": not a JSON object");
    }
    String name =
        switch (dtype) {
          case F32 -> "float32";
          case F16 -> "float16";
          case BF16 -> "bfloat16";
          default -> throw new IllegalStateException("unreachable: " + dtype);
        };
    config.put("torch_dtype", name);
    if (config.has("dtype")) {
      config.put("dtype", name);
    }
    Files.writeString(to, JSON.writeValueAsString(config) + "\n");
  }

  /**
   * Copies the model directory's other top-level files (tokenizer, generation config, chat
   * template, licence); weights, pickles and sub-directories are left out.
   */
  private static List<String> copyOtherFiles(Path modelDir, Path to) throws IOException {
    List<String> copied = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(modelDir)) {
      for (Path file : files) {
        String name = file.getFileName().toString();
        String lower = name.toLowerCase(Locale.ROOT);
        boolean weights =
            lower.endsWith(".safetensors")
                || lower.equals(SafetensorsCheckpoint.INDEX_FILE)
                || lower.endsWith(".bin")
                || lower.endsWith(".pt")
                || lower.endsWith(".pth")
                || lower.startsWith("pytorch_model")
                || lower.equals(CONFIG_FILE);
        if (weights || !Files.isRegularFile(file) || name.startsWith(".")) {
          continue;
        }
        Files.copy(file, to.resolve(name), StandardCopyOption.COPY_ATTRIBUTES);
        copied.add(name);
      }
    }
    copied.sort(Comparator.naturalOrder());
    return copied;
  }

  private static void fsyncAll(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      for (Path file : (Iterable<Path>) files::iterator) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
          ch.force(true);
        }
      }
    }
    fsync(dir);
  }

  private static void fsync(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // some file systems cannot sync a directory; the files themselves are synced
    }
  }

  private static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove the temporary directory " + dir, e);
    }
  }

  /** Compares names chunk by chunk, digit runs as numbers: layers.2 before layers.10. */
  static final Comparator<String> NATURAL_ORDER =
      (x, y) -> {
        int i = 0;
        int j = 0;
        while (i < x.length() && j < y.length()) {
          char cx = x.charAt(i);
          char cy = y.charAt(j);
          if (Character.isDigit(cx) && Character.isDigit(cy)) {
            int ei = i;
            while (ei < x.length() && Character.isDigit(x.charAt(ei))) {
              ei++;
            }
            int ej = j;
            while (ej < y.length() && Character.isDigit(y.charAt(ej))) {
              ej++;
            }
            int c =
                new java.math.BigInteger(x.substring(i, ei))
                    .compareTo(new java.math.BigInteger(y.substring(j, ej)));
            if (c != 0) {
              return c;
            }
            i = ei;
            j = ej;
          } else {
            if (cx != cy) {
              return Character.compare(cx, cy);
            }
            i++;
            j++;
          }
        }
        return Integer.compare(x.length() - i, y.length() - j);
      };
}
