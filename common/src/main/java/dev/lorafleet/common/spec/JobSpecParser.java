package dev.lorafleet.common.spec;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.POJONode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import dev.lorafleet.common.spec.JobSpec.Checkpoint;
import dev.lorafleet.common.spec.JobSpec.Cluster;
import dev.lorafleet.common.spec.JobSpec.Dataset;
import dev.lorafleet.common.spec.JobSpec.EvalSet;
import dev.lorafleet.common.spec.JobSpec.GradientDtype;
import dev.lorafleet.common.spec.JobSpec.Lora;
import dev.lorafleet.common.spec.JobSpec.OnBadRecord;
import dev.lorafleet.common.spec.JobSpec.Scheduler;
import dev.lorafleet.common.spec.JobSpec.SpecEnum;
import dev.lorafleet.common.spec.JobSpec.Training;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;

/**
 * Reads a job spec from YAML or JSON and checks every field, collecting every problem (by field
 * path) before refusing, so a user fixes a spec in one round. Refuses unknown fields, wrong types,
 * NaN and infinite numbers, out-of-range values, deep nesting, oversized input, NUL bytes, YAML
 * aliases, and paths the {@link PathPolicy} refuses. It does not look at the file system: {@link
 * SpecPreflight} does that.
 */
public final class JobSpecParser {
  /** Default size limit of a spec: far above any real spec, far below trouble. */
  public static final int DEFAULT_MAX_BYTES = 1 << 20;

  /** A spec is 3 levels deep (datasets → item → field); anything far deeper is an attack. */
  public static final int MAX_NESTING_DEPTH = 16;

  static final int MAX_TEXT_LENGTH = 4096;
  static final int MAX_LIST_ENTRIES = 100;
  static final int MAX_RANK = 4096;

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
  private static final Pattern QUOTED_FIRST_KEY = Pattern.compile("\\s*[\\[{]\\s*\"");
  private static final Pattern CURRENCY = Pattern.compile("[A-Z]{3}");
  private static final Set<String> NON_FINITE_WORDS =
      Set.of(
          "nan",
          ".nan",
          "inf",
          ".inf",
          "-inf",
          "-.inf",
          "+inf",
          "+.inf",
          "infinity",
          "-infinity",
          "+infinity");

  private final PathPolicy pathPolicy;
  private final int maxBytes;
  private final JsonFactory jsonFactory;
  private final YAMLFactory yamlFactory;

  /** A parser with the default path policy ({@link PathPolicy#permissive()}) and size limit. */
  public JobSpecParser() {
    this(PathPolicy.permissive(), DEFAULT_MAX_BYTES);
  }

  public JobSpecParser(PathPolicy pathPolicy, int maxBytes) {
    if (maxBytes <= 0) {
      throw new IllegalArgumentException("maxBytes must be > 0, got " + maxBytes);
    }
    this.pathPolicy = pathPolicy;
    this.maxBytes = maxBytes;
    // Jackson's own limits sit above ours: ours give the clearer message, theirs are the backstop.
    StreamReadConstraints constraints =
        StreamReadConstraints.builder()
            .maxNestingDepth(MAX_NESTING_DEPTH * 4)
            .maxStringLength(maxBytes)
            .maxNumberLength(1000)
            .maxDocumentLength(maxBytes + 1L)
            .build();
    this.jsonFactory =
        JsonFactory.builder()
            .streamReadConstraints(constraints)
            // NaN is read so that it can be refused by field path instead of as a syntax error.
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();
    LoaderOptions loaderOptions = new LoaderOptions();
    loaderOptions.setNestingDepthLimit(MAX_NESTING_DEPTH * 4);
    loaderOptions.setMaxAliasesForCollections(10);
    loaderOptions.setCodePointLimit(maxBytes + 1);
    loaderOptions.setAllowDuplicateKeys(true); // duplicates are reported by field path below
    this.yamlFactory =
        YAMLFactory.builder()
            .loaderOptions(loaderOptions)
            .streamReadConstraints(constraints)
            .build();
  }

  public PathPolicy pathPolicy() {
    return pathPolicy;
  }

  public int maxBytes() {
    return maxBytes;
  }

  /** Reads and checks a spec file; {@code file} names the problems' source. */
  public JobSpec parse(Path file) throws IOException, InvalidSpecException {
    long size = Files.size(file);
    if (size > maxBytes) {
      throw new InvalidSpecException(file.toString(), List.of(tooLarge(size)));
    }
    return parse(Files.readAllBytes(file), file.toString());
  }

  /** Reads and checks a spec given as bytes (UTF-8, an optional byte-order mark). */
  public JobSpec parse(byte[] bytes, String source) throws InvalidSpecException {
    if (bytes.length > maxBytes) {
      throw new InvalidSpecException(source, List.of(tooLarge(bytes.length)));
    }
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes))
              .toString();
    } catch (MalformedInputException e) {
      throw new InvalidSpecException(
          source, List.of(new SpecProblem(SpecProblem.DOCUMENT, "is not valid UTF-8 text")));
    } catch (CharacterCodingException e) {
      throw new InvalidSpecException(
          source, List.of(new SpecProblem(SpecProblem.DOCUMENT, "is not valid UTF-8 text")));
    }
    return parse(text, source);
  }

  /** Reads and checks a spec given as text. */
  public JobSpec parse(String text) throws InvalidSpecException {
    return parse(text, null);
  }

  /** Reads and checks a spec given as text; {@code source} names it in the exception message. */
  public JobSpec parse(String text, String source) throws InvalidSpecException {
    if (text.length() > maxBytes
        || (text.length() * 3L > maxBytes
            && text.getBytes(StandardCharsets.UTF_8).length > maxBytes)) {
      throw new InvalidSpecException(
          source, List.of(tooLarge(text.getBytes(StandardCharsets.UTF_8).length)));
    }
    if (!text.isEmpty() && text.charAt(0) == '\uFEFF') {
      text = text.substring(1);
    }
    int nul = text.indexOf('\0');
    if (nul >= 0) {
      throw new InvalidSpecException(
          source,
          List.of(
              new SpecProblem(
                  SpecProblem.DOCUMENT, "contains a NUL byte at " + lineAndColumn(text, nul))));
    }
    if (text.isBlank()) {
      throw new InvalidSpecException(
          source, List.of(new SpecProblem(SpecProblem.DOCUMENT, "is empty")));
    }
    List<SpecProblem> problems = new ArrayList<>();
    JsonNode tree = readTree(text, problems);
    if (!problems.isEmpty()) {
      throw new InvalidSpecException(source, problems);
    }
    Reader reader = new Reader();
    JobSpec spec = reader.read(tree);
    if (!reader.problems.isEmpty()) {
      throw new InvalidSpecException(source, reader.problems);
    }
    return spec;
  }

  /**
   * Checks a spec built in code (a test, the demo) by the same rules as a parsed one.
   *
   * @return every problem, empty when the spec is valid
   */
  public List<SpecProblem> validate(JobSpec spec) {
    Reader reader = new Reader();
    reader.read(JobSpecWriter.toTree(spec));
    return List.copyOf(reader.problems);
  }

  /** Like {@link #validate(JobSpec)}, throwing when there is any problem. */
  public JobSpec check(JobSpec spec) throws InvalidSpecException {
    List<SpecProblem> problems = validate(spec);
    if (!problems.isEmpty()) {
      throw new InvalidSpecException(spec.name(), problems);
    }
    return spec;
  }

  private SpecProblem tooLarge(long size) {
    return new SpecProblem(
        SpecProblem.DOCUMENT,
        "is " + size + " bytes, more than the limit of " + maxBytes + " bytes");
  }

  // ---- text → tree --------------------------------------------------------------------------

  /** A number the parser could not turn into a value (YAML's {@code .nan}, {@code .inf}). */
  private record BadNumber(String text) {}

  /** A YAML value this parser does not accept: an alias, a tagged binary blob. */
  private record Unsupported(String what) {}

  /** Thrown to stop reading a document nested deeper than any spec is. */
  private static final class TooDeep extends RuntimeException {
    private static final long serialVersionUID = 1L;

    TooDeep(String message) {
      super(message, null, false, false);
    }
  }

  private JsonNode readTree(String text, List<SpecProblem> problems) {
    String start = text.stripLeading();
    boolean looksLikeJson = start.startsWith("{") || start.startsWith("[");
    if (looksLikeJson) {
      List<SpecProblem> jsonProblems = new ArrayList<>();
      JsonNode tree = readTreeWith(jsonFactory, "JSON", text, jsonProblems);
      if (jsonProblems.isEmpty()) {
        return tree;
      }
      // A one-line YAML flow mapping ({name: x, …}) also starts with '{'; quoted keys mean JSON.
      if (QUOTED_FIRST_KEY.matcher(text).lookingAt()) {
        problems.addAll(jsonProblems);
        return null;
      }
      List<SpecProblem> yamlProblems = new ArrayList<>();
      JsonNode yamlTree = readTreeWith(yamlFactory, "YAML", text, yamlProblems);
      if (yamlProblems.isEmpty()) {
        return yamlTree;
      }
      problems.addAll(jsonProblems);
      return null;
    }
    return readTreeWith(yamlFactory, "YAML", text, problems);
  }

  private JsonNode readTreeWith(
      JsonFactory factory, String format, String text, List<SpecProblem> problems) {
    try (JsonParser parser = factory.createParser(text)) {
      JsonToken first = parser.nextToken();
      if (first == null) {
        problems.add(new SpecProblem(SpecProblem.DOCUMENT, "is empty"));
        return null;
      }
      TreeBuilder builder = new TreeBuilder(parser, problems);
      JsonNode tree = builder.value(first, 1, "");
      if (parser.nextToken() != null) {
        problems.add(
            new SpecProblem(
                SpecProblem.DOCUMENT,
                "has more than one document; a spec is one " + format + " document"));
      }
      return tree;
    } catch (TooDeep e) {
      problems.add(new SpecProblem(SpecProblem.DOCUMENT, e.getMessage()));
      return null;
    } catch (JsonProcessingException e) {
      problems.add(new SpecProblem(SpecProblem.DOCUMENT, syntaxError(format, e)));
      return null;
    } catch (IOException | RuntimeException e) {
      // SnakeYAML reports some syntax errors as its own runtime exceptions.
      problems.add(
          new SpecProblem(
              SpecProblem.DOCUMENT, "is not valid " + format + ": " + firstLine(e.getMessage())));
      return null;
    }
  }

  private static String syntaxError(String format, JsonProcessingException e) {
    String where =
        e.getLocation() == null
            ? ""
            : " at line "
                + e.getLocation().getLineNr()
                + ", column "
                + e.getLocation().getColumnNr();
    return "is not valid " + format + where + ": " + firstLine(e.getOriginalMessage());
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "unreadable";
    }
    String line = message.lines().findFirst().orElse("").strip();
    return line.length() > 200 ? line.substring(0, 200) + "…" : line;
  }

  private static String lineAndColumn(String text, int index) {
    int line = 1;
    int column = 1;
    for (int i = 0; i < index; i++) {
      if (text.charAt(i) == '\n') {
        line++;
        column = 1;
      } else {
        column++;
      }
    }
    return "line " + line + ", column " + column;
  }

  /** Builds a tree from parser events, depth-limited, keeping bad numbers for per-field errors. */
  private static final class TreeBuilder {
    private final JsonParser parser;
    private final List<SpecProblem> problems;
    private final JsonNodeFactory nodes = JsonNodeFactory.instance;

    TreeBuilder(JsonParser parser, List<SpecProblem> problems) {
      this.parser = parser;
      this.problems = problems;
    }

    JsonNode value(JsonToken token, int depth, String path) throws IOException {
      if (parser instanceof YAMLParser yaml && yaml.isCurrentAlias()) {
        return nodes.pojoNode(new Unsupported("a YAML alias (*" + parser.getText() + ")"));
      }
      return switch (token) {
        case START_OBJECT -> object(depth, path);
        case START_ARRAY -> array(depth, path);
        case VALUE_STRING -> nodes.textNode(parser.getText());
        case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> number();
        case VALUE_TRUE -> nodes.booleanNode(true);
        case VALUE_FALSE -> nodes.booleanNode(false);
        case VALUE_NULL -> nodes.nullNode();
        default -> nodes.pojoNode(new Unsupported("a " + token + " value"));
      };
    }

    private JsonNode number() throws IOException {
      try {
        return switch (parser.getNumberType()) {
          case INT, LONG -> nodes.numberNode(parser.getLongValue());
          case BIG_INTEGER -> nodes.numberNode(parser.getBigIntegerValue());
          default -> nodes.numberNode(parser.getDoubleValue());
        };
      } catch (JsonProcessingException | NumberFormatException e) {
        return nodes.pojoNode(new BadNumber(parser.getText()));
      }
    }

    private ObjectNode object(int depth, String path) throws IOException {
      checkDepth(depth, path);
      ObjectNode object = nodes.objectNode();
      for (JsonToken token = parser.nextToken();
          token != JsonToken.END_OBJECT;
          token = parser.nextToken()) {
        String key = parser.currentName();
        String child = path.isEmpty() ? key : path + "." + key;
        JsonNode value = value(parser.nextToken(), depth + 1, child);
        if (object.has(key)) {
          problems.add(new SpecProblem(child, "appears more than once"));
        }
        object.set(key, value);
      }
      return object;
    }

    private ArrayNode array(int depth, String path) throws IOException {
      checkDepth(depth, path);
      ArrayNode array = nodes.arrayNode();
      int index = 0;
      for (JsonToken token = parser.nextToken();
          token != JsonToken.END_ARRAY;
          token = parser.nextToken()) {
        array.add(value(token, depth + 1, path + "[" + index++ + "]"));
      }
      return array;
    }

    private static void checkDepth(int depth, String path) {
      if (depth > MAX_NESTING_DEPTH) {
        throw new TooDeep(
            "is nested more than "
                + MAX_NESTING_DEPTH
                + " levels deep (at "
                + (path.isEmpty() ? "the top" : path)
                + "); a job spec is 3 levels deep");
      }
    }
  }

  // ---- tree → JobSpec, checking every field ---------------------------------------------------

  /** Walks the tree once, converting and checking each field and collecting problems. */
  private final class Reader {
    final List<SpecProblem> problems = new ArrayList<>();

    JobSpec read(JsonNode root) {
      if (!(root instanceof ObjectNode object)) {
        problem(
            SpecProblem.DOCUMENT,
            "must be a mapping of fields (name, model, datasets, …), got " + describe(root));
        return null;
      }
      Fields top = new Fields(object, "");
      String name = text(top, "name", true);
      if (name != null && !NAME.matcher(name).matches()) {
        problem(
            top.at("name"),
            "must be 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit");
      }
      String model = path(top, "model");
      List<Dataset> datasets = datasets(top);
      List<EvalSet> eval = evalSets(top);
      Lora lora = lora(top);
      Training training = training(top);
      Cluster cluster = cluster(top);
      Checkpoint checkpoint = checkpoint(top);
      top.finish();
      return new JobSpec(name, model, datasets, eval, lora, training, cluster, checkpoint);
    }

    private List<Dataset> datasets(Fields top) {
      List<JsonNode> items = list(top, "datasets", true);
      if (items == null) {
        return null;
      }
      if (items.isEmpty()) {
        problem(top.at("datasets"), "must list at least one dataset");
        return null;
      }
      List<Dataset> datasets = new ArrayList<>();
      Map<String, String> seen = new HashMap<>();
      for (int i = 0; i < items.size(); i++) {
        String at = "datasets[" + i + "]";
        Fields item = item(items.get(i), at, "path and weight");
        if (item == null) {
          continue;
        }
        String path = path(item, "path");
        Double weight = number(item, "weight");
        if (weight == null) {
          weight = Dataset.DEFAULT_WEIGHT;
        } else if (!(weight > 0)) {
          problem(item.at("weight"), "must be positive (got " + weight + ")");
        }
        item.finish();
        if (path != null) {
          String earlier = seen.putIfAbsent(Path.of(path).normalize().toString(), at);
          if (earlier != null) {
            problem(item.at("path"), "names the same file as " + earlier + ".path");
          }
        }
        datasets.add(new Dataset(path, weight));
      }
      return datasets;
    }

    private List<EvalSet> evalSets(Fields top) {
      List<JsonNode> items = list(top, "eval", false);
      if (items == null) {
        return List.of();
      }
      List<EvalSet> sets = new ArrayList<>();
      Map<String, String> names = new HashMap<>();
      for (int i = 0; i < items.size(); i++) {
        String at = "eval[" + i + "]";
        Fields item = item(items.get(i), at, "name and path");
        if (item == null) {
          continue;
        }
        String name = text(item, "name", true);
        if (name != null) {
          if (!NAME.matcher(name).matches()) {
            problem(
                item.at("name"),
                "must be 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or"
                    + " digit");
          } else {
            String earlier = names.putIfAbsent(name, at);
            if (earlier != null) {
              problem(item.at("name"), "'" + name + "' is already the name of " + earlier);
            }
          }
        }
        String path = path(item, "path");
        item.finish();
        sets.add(new EvalSet(name, path));
      }
      return sets;
    }

    private Lora lora(Fields top) {
      Fields lora = section(top, "lora", "r, alpha, dropout, targetModules");
      if (lora == null) {
        return Lora.DEFAULT;
      }
      int r = (int) whole(lora, "r", Lora.DEFAULT_R, 1, MAX_RANK);
      Double alpha = number(lora, "alpha");
      if (alpha == null) {
        alpha = 2.0 * r;
      } else if (!(alpha > 0)) {
        problem(lora.at("alpha"), "must be > 0 (got " + alpha + ")");
      }
      double dropout = fraction(lora, "dropout", Lora.DEFAULT.dropout());
      List<String> modules = targetModules(lora);
      Boolean rslora = bool(lora, "useRslora");
      lora.finish();
      return new Lora(r, alpha, dropout, modules, rslora != null && rslora);
    }

    private List<String> targetModules(Fields lora) {
      String at = lora.at("targetModules");
      JsonNode node = lora.get("targetModules");
      if (node == null) {
        return Lora.DEFAULT.targetModules();
      }
      List<JsonNode> items = new ArrayList<>();
      if (node.isTextual()) {
        items.add(node); // PEFT also accepts one name, e.g. target_modules: all-linear
      } else if (node.isArray()) {
        node.forEach(items::add);
      } else {
        problem(at, "must be a list of module names, e.g. [q_proj, v_proj], got " + describe(node));
        return Lora.DEFAULT.targetModules();
      }
      if (items.isEmpty()) {
        problem(at, "must name at least one module (" + knownModules() + ")");
        return Lora.DEFAULT.targetModules();
      }
      Set<String> modules = new LinkedHashSet<>();
      for (int i = 0; i < items.size(); i++) {
        JsonNode item = items.get(i);
        String itemAt = node.isArray() ? at + "[" + i + "]" : at;
        if (!item.isTextual()) {
          problem(itemAt, "must be a module name, got " + describe(item));
        } else if (!Lora.LINEAR_MODULES.contains(item.asText())
            && !Lora.ALL_LINEAR.equals(item.asText())) {
          problem(
              itemAt,
              "unknown target module '" + clip(item.asText()) + "'; known: " + knownModules());
        } else if (!modules.add(item.asText())) {
          problem(itemAt, "'" + item.asText() + "' is listed twice");
        }
      }
      if (modules.contains(Lora.ALL_LINEAR) && modules.size() > 1) {
        problem(at, "all-linear already targets every linear layer; list it alone");
      }
      return List.copyOf(modules);
    }

    private String knownModules() {
      return String.join(", ", Lora.LINEAR_MODULES) + ", " + Lora.ALL_LINEAR;
    }

    private Training training(Fields top) {
      Fields t = section(top, "training", "epochs, learningRate, …");
      Training d = Training.DEFAULT;
      if (t == null) {
        return d;
      }
      int epochs = (int) whole(t, "epochs", d.epochs(), 1, 10_000);
      Double learningRate = number(t, "learningRate");
      if (learningRate == null) {
        learningRate = d.learningRate();
      } else if (!(learningRate > 0 && learningRate <= 1)) {
        problem(t.at("learningRate"), "must be > 0 and at most 1 (got " + learningRate + ")");
      }
      Scheduler scheduler = choice(t, "scheduler", Scheduler.class, d.scheduler());
      int warmupSteps = (int) whole(t, "warmupSteps", d.warmupSteps(), 0, 1_000_000_000);
      int globalBatchSize = (int) whole(t, "globalBatchSize", d.globalBatchSize(), 1, 1_000_000);
      int microBatchSize = (int) whole(t, "microBatchSize", d.microBatchSize(), 1, 1_000_000);
      if (microBatchSize > globalBatchSize && !t.hasProblem("globalBatchSize")) {
        problem(
            t.at("microBatchSize"),
            "must not exceed training.globalBatchSize ("
                + globalBatchSize
                + "), got "
                + microBatchSize);
      }
      int maxSeqLen = (int) whole(t, "maxSeqLen", d.maxSeqLen(), 2, 1 << 20);
      long seed = whole(t, "seed", d.seed(), 0, Long.MAX_VALUE);
      double weightDecay = bounded(t, "weightDecay", d.weightDecay(), 0, 1);
      Double maxGradNorm = number(t, "maxGradNorm");
      if (maxGradNorm == null) {
        maxGradNorm = d.maxGradNorm();
      } else if (maxGradNorm < 0) {
        problem(t.at("maxGradNorm"), "must be >= 0 (0 turns clipping off), got " + maxGradNorm);
      }
      OnBadRecord onBadRecord = choice(t, "onBadRecord", OnBadRecord.class, d.onBadRecord());
      GradientDtype gradientDtype =
          choice(t, "gradientDtype", GradientDtype.class, d.gradientDtype());
      t.finish();
      return new Training(
          epochs,
          learningRate,
          scheduler,
          warmupSteps,
          globalBatchSize,
          microBatchSize,
          maxSeqLen,
          seed,
          weightDecay,
          maxGradNorm,
          onBadRecord,
          gradientDtype);
    }

    private Cluster cluster(Fields top) {
      Fields c = section(top, "cluster", "workers, gpusPerWorker, pricePerGpuHour, currency");
      Cluster d = Cluster.DEFAULT;
      if (c == null) {
        return d;
      }
      int workers = (int) whole(c, "workers", d.workers(), 1, 10_000);
      int gpusPerWorker = (int) whole(c, "gpusPerWorker", d.gpusPerWorker(), 1, 64);
      Double price = number(c, "pricePerGpuHour");
      if (price == null) {
        price = d.pricePerGpuHour();
      } else if (price < 0) {
        problem(c.at("pricePerGpuHour"), "must be >= 0 (got " + price + ")");
      }
      String currency = text(c, "currency", false);
      if (currency == null) {
        currency = d.currency();
      } else if (!CURRENCY.matcher(currency).matches()) {
        problem(
            c.at("currency"),
            "must be a three-letter currency code such as USD, EUR or CNY (got '"
                + clip(currency)
                + "')");
      }
      c.finish();
      return new Cluster(workers, gpusPerWorker, price, currency);
    }

    private Checkpoint checkpoint(Fields top) {
      Fields c = section(top, "checkpoint", "everySteps, keepLast");
      Checkpoint d = Checkpoint.DEFAULT;
      if (c == null) {
        return d;
      }
      int everySteps = (int) whole(c, "everySteps", d.everySteps(), 1, 1_000_000_000);
      int keepLast = d.keepLast();
      Long keep = wholeOrNull(c, "keepLast");
      if (keep != null) {
        if (keep < Checkpoint.MIN_KEEP_LAST) {
          problem(
              c.at("keepLast"),
              "must be at least "
                  + Checkpoint.MIN_KEEP_LAST
                  + " (got "
                  + keep
                  + "): the newest checkpoint may be the one a crash interrupted, so resume"
                  + " needs the one before it");
        } else if (keep > 1000) {
          problem(c.at("keepLast"), "must be at most 1000 (got " + keep + ")");
        } else {
          keepLast = keep.intValue();
        }
      }
      c.finish();
      return new Checkpoint(everySteps, keepLast);
    }

    // ---- typed field readers: each reports its own problem and returns null or a default ----

    private Fields section(Fields parent, String key, String fields) {
      JsonNode node = parent.get(key);
      if (node == null) {
        return null;
      }
      if (!(node instanceof ObjectNode object)) {
        problem(parent.at(key), "must be a mapping (" + fields + "), got " + describe(node));
        return null;
      }
      return new Fields(object, parent.at(key));
    }

    private Fields item(JsonNode node, String at, String fields) {
      if (!(node instanceof ObjectNode object)) {
        problem(at, "must be a mapping with " + fields + ", got " + describe(node));
        return null;
      }
      return new Fields(object, at);
    }

    private List<JsonNode> list(Fields fields, String key, boolean required) {
      JsonNode node = fields.get(key);
      if (node == null) {
        if (required) {
          fields.missing(key);
        }
        return null;
      }
      if (!node.isArray()) {
        problem(fields.at(key), "must be a list, got " + describe(node));
        return null;
      }
      if (node.size() > MAX_LIST_ENTRIES) {
        problem(
            fields.at(key),
            "lists " + node.size() + " entries; at most " + MAX_LIST_ENTRIES + " are allowed");
        return null;
      }
      List<JsonNode> items = new ArrayList<>();
      node.forEach(items::add);
      return items;
    }

    private String text(Fields fields, String key, boolean required) {
      JsonNode node = fields.get(key);
      String at = fields.at(key);
      if (node == null) {
        if (required) {
          fields.missing(key);
        }
        return null;
      }
      if (!node.isTextual()) {
        problem(at, "must be text, got " + describe(node));
        return null;
      }
      String value = node.textValue();
      if (value.indexOf('\0') >= 0) {
        problem(at, "must not contain NUL bytes");
        return null;
      }
      if (value.length() > MAX_TEXT_LENGTH) {
        problem(at, "is longer than " + MAX_TEXT_LENGTH + " characters");
        return null;
      }
      if (value.isBlank()) {
        problem(at, "must not be empty");
        return null;
      }
      return value;
    }

    private String path(Fields fields, String key) {
      String value = text(fields, key, true);
      if (value == null) {
        return null;
      }
      Optional<String> problem = pathPolicy.check(value);
      if (problem.isPresent()) {
        problem(fields.at(key), problem.get());
        return null;
      }
      return value;
    }

    private Double number(Fields fields, String key) {
      JsonNode node = fields.get(key);
      if (node == null) {
        return null;
      }
      String at = fields.at(key);
      if (node.isNumber()) {
        double value = node.doubleValue();
        if (!Double.isFinite(value)) {
          problem(at, "must be a finite number (got " + node.asText() + ")");
          return null;
        }
        return value;
      }
      notANumber(at, node, "a number");
      return null;
    }

    private double bounded(Fields fields, String key, double fallback, double min, double max) {
      Double value = number(fields, key);
      if (value == null) {
        return fallback;
      }
      if (value < min || value > max) {
        problem(fields.at(key), "must be between " + min + " and " + max + " (got " + value + ")");
      }
      return value;
    }

    private double fraction(Fields fields, String key, double fallback) {
      Double value = number(fields, key);
      if (value == null) {
        return fallback;
      }
      if (!(value >= 0 && value < 1)) {
        problem(fields.at(key), "must be at least 0 and below 1 (got " + value + ")");
      }
      return value;
    }

    private long whole(Fields fields, String key, long fallback, long min, long max) {
      Long value = wholeOrNull(fields, key);
      if (value == null) {
        return fallback;
      }
      String at = fields.at(key);
      if (value < min) {
        problem(
            at,
            (min == 1 ? "must be > 0" : min == 0 ? "must be >= 0" : "must be at least " + min)
                + " (got "
                + value
                + ")");
        return fallback;
      }
      if (value > max) {
        problem(at, "must be at most " + max + " (got " + value + ")");
        return fallback;
      }
      return value;
    }

    private Long wholeOrNull(Fields fields, String key) {
      JsonNode node = fields.get(key);
      if (node == null) {
        return null;
      }
      String at = fields.at(key);
      if (node.isIntegralNumber()) {
        if (!node.canConvertToLong()) {
          problem(at, "is far too large (" + clip(node.asText()) + ")");
          return null;
        }
        return node.longValue();
      }
      if (node.isNumber()) {
        double value = node.doubleValue();
        if (!Double.isFinite(value)) {
          problem(at, "must be a finite number (got " + node.asText() + ")");
          return null;
        }
        if (value != Math.rint(value) || Math.abs(value) > (1L << 53)) {
          problem(at, "must be a whole number (got " + value + ")");
          return null;
        }
        return (long) value;
      }
      notANumber(at, node, "a whole number");
      return null;
    }

    private void notANumber(String at, JsonNode node, String wanted) {
      if (node instanceof POJONode pojo && pojo.getPojo() instanceof BadNumber bad) {
        problem(at, "must be a finite number (got " + clip(bad.text()) + ")");
      } else if (node.isTextual()
          && NON_FINITE_WORDS.contains(node.textValue().strip().toLowerCase(Locale.ROOT))) {
        problem(at, "must be a finite number (got " + clip(node.textValue()) + ")");
      } else {
        problem(at, "must be " + wanted + ", got " + describe(node));
      }
    }

    private Boolean bool(Fields fields, String key) {
      JsonNode node = fields.get(key);
      if (node == null) {
        return null;
      }
      if (!node.isBoolean()) {
        problem(fields.at(key), "must be true or false, got " + describe(node));
        return null;
      }
      return node.booleanValue();
    }

    private <E extends Enum<E> & SpecEnum> E choice(
        Fields fields, String key, Class<E> type, E fallback) {
      JsonNode node = fields.get(key);
      if (node == null) {
        return fallback;
      }
      List<String> names = new ArrayList<>();
      for (E constant : type.getEnumConstants()) {
        names.add(constant.specName());
        if (node.isTextual() && constant.specName().equalsIgnoreCase(node.textValue().strip())) {
          return constant;
        }
      }
      problem(
          fields.at(key), "must be one of " + String.join(", ", names) + ", got " + describe(node));
      return fallback;
    }

    private void problem(String field, String message) {
      problems.add(new SpecProblem(field, message));
    }

    /** The fields of one mapping: which were read, so the rest can be reported unknown. */
    private final class Fields {
      private final ObjectNode node;
      private final String path;
      private final Set<String> known = new LinkedHashSet<>();

      Fields(ObjectNode node, String path) {
        this.node = node;
        this.path = path;
      }

      /** The value of {@code key}; null when absent or written as null. */
      JsonNode get(String key) {
        known.add(key);
        JsonNode value = node.get(key);
        if (value instanceof POJONode pojo && pojo.getPojo() instanceof Unsupported unsupported) {
          problem(at(key), "is " + unsupported.what() + ", which a job spec does not accept");
          return null;
        }
        return value == null || value.isNull() ? null : value;
      }

      String at(String key) {
        return path.isEmpty() ? key : path + "." + key;
      }

      /** Reports a required field missing, unless its value was already refused. */
      void missing(String key) {
        if (!hasProblem(key)) {
          problem(at(key), "is required");
        }
      }

      boolean hasProblem(String key) {
        String field = at(key);
        return problems.stream().anyMatch(p -> p.field().equals(field));
      }

      void finish() {
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
          String name = names.next();
          if (!known.contains(name)) {
            problem(at(clip(name)), "unknown field" + suggestion(name, known));
          }
        }
      }
    }
  }

  /** " (did you mean 'learningRate'?)" for near misses such as learning_rate or learnignRate. */
  static String suggestion(String name, Set<String> known) {
    String normalized = normalize(name);
    String best = null;
    int bestDistance = 3;
    for (String candidate : known) {
      if (normalize(candidate).equals(normalized)) {
        return " (did you mean '" + candidate + "'?)";
      }
      int distance = distance(normalized, normalize(candidate));
      if (distance < bestDistance) {
        bestDistance = distance;
        best = candidate;
      }
    }
    return best == null ? "" : " (did you mean '" + best + "'?)";
  }

  private static String normalize(String name) {
    return name.replace("_", "").replace("-", "").toLowerCase(Locale.ROOT);
  }

  private static int distance(String a, String b) {
    if (Math.abs(a.length() - b.length()) > 2 || a.length() > 64 || b.length() > 64) {
      return Integer.MAX_VALUE;
    }
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        current[j] =
            Math.min(Math.min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[b.length()];
  }

  private static String describe(JsonNode node) {
    if (node == null || node.isNull()) {
      return "nothing";
    }
    if (node.isTextual()) {
      return "text \"" + clip(node.textValue()) + "\"";
    }
    if (node.isArray()) {
      return "a list";
    }
    if (node.isObject()) {
      return "a mapping";
    }
    if (node.isBoolean()) {
      return node.asText();
    }
    if (node instanceof POJONode pojo) {
      if (pojo.getPojo() instanceof BadNumber bad) {
        return clip(bad.text());
      }
      if (pojo.getPojo() instanceof Unsupported unsupported) {
        return unsupported.what();
      }
    }
    return clip(node.asText());
  }

  /** Keeps echoed user input short and printable. */
  private static String clip(String text) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < text.length() && out.length() < 60; i++) {
      char c = text.charAt(i);
      out.append(c < 0x20 || c == 0x7f ? '?' : c);
    }
    return text.length() > 60 ? out + "…" : out.toString();
  }
}
