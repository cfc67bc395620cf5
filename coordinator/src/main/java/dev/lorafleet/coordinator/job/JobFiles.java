package dev.lorafleet.coordinator.job;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.lorafleet.coordinator.api.JobReport;
import dev.lorafleet.coordinator.lease.Fence;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A job's files under {@code <dataDir>/jobs/<jobId>/}: {@code spec.yaml}, the append-only {@code
 * events.jsonl} (one JSON object per line: {@code time}, {@code type}, then the event's fields) and
 * {@code report.json} (replaced atomically). Every write first passes the coordinator's {@link
 * Fence}: a coordinator that lost its lease to a newer one writes none of them.
 */
public final class JobFiles {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ObjectMapper PRETTY =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final Path dir;
  private final Fence fence;

  /** The files of a job in a directory this process owns outright (no lease). */
  public JobFiles(Path dataDir, String jobId) {
    this(dataDir, jobId, Fence.NONE);
  }

  public JobFiles(Path dataDir, String jobId, Fence fence) {
    this.dir = dataDir.resolve("jobs").resolve(jobId);
    this.fence = fence;
  }

  public Path dir() {
    return dir;
  }

  /** The fence every write of this job passes, checkpoints included. */
  public Fence fence() {
    return fence;
  }

  public void writeSpec(String specYaml) throws IOException {
    fence.check();
    Files.createDirectories(dir);
    replace(dir.resolve("spec.yaml"), specYaml.getBytes(StandardCharsets.UTF_8));
  }

  /** Appends one event line; {@code fields} keep their order. */
  public void appendEvent(Instant time, String type, Map<String, ?> fields) throws IOException {
    fence.check();
    Files.createDirectories(dir);
    Map<String, Object> line = new LinkedHashMap<>();
    line.put("time", time.toString());
    line.put("type", type);
    line.putAll(fields);
    byte[] bytes = (JSON.writeValueAsString(line) + "\n").getBytes(StandardCharsets.UTF_8);
    Files.write(
        dir.resolve("events.jsonl"), bytes, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  public void writeReport(JobReport report) throws IOException {
    fence.check();
    Files.createDirectories(dir);
    replace(dir.resolve("report.json"), PRETTY.writeValueAsBytes(report));
  }

  public static JobReport readReport(Path file) throws IOException {
    return JSON.readValue(file.toFile(), JobReport.class);
  }

  private static void replace(Path target, byte[] bytes) throws IOException {
    Path temp = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".tmp");
    Files.write(temp, bytes);
    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
