package dev.lorafleet.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lorafleet.common.spec.JobSpec;
import dev.lorafleet.common.spec.SpecProblem;
import dev.lorafleet.coordinator.api.ApiSettings;
import dev.lorafleet.coordinator.api.ApiTestServer;
import dev.lorafleet.coordinator.api.EpochReport;
import dev.lorafleet.coordinator.api.JobState;
import dev.lorafleet.coordinator.api.JobView;
import dev.lorafleet.coordinator.api.TestingJobService;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The API client commands against a real API server with a {@link TestingJobService}. */
class ClientCommandsTest {
  private static final String TOKEN = "fedcba9876543210fedcba9876543210";
  private static ApiTestServer server;
  private static ApiTestServer guarded;

  @TempDir Path tmp;
  private Path specFile;

  /** What one command run printed and returned. */
  record Run(int exitCode, String out, String err) {}

  @BeforeAll
  static void start() throws Exception {
    server = new ApiTestServer();
    guarded = new ApiTestServer(ApiSettings.of("127.0.0.1", 0).withBearerToken(TOKEN));
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
    guarded.close();
  }

  @BeforeEach
  void writeSpec() throws Exception {
    server.service.mode = TestingJobService.Mode.ACCEPT;
    server.service.canScale = true;
    specFile =
        Files.writeString(
            tmp.resolve("job.yaml"),
            """
            name: medqa-lora
            model: /models/tiny
            datasets:
              - {path: /data/medqa.jsonl, weight: 0.9}
            cluster: {currency: CNY}
            """);
  }

  static Run lorafleet(String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      int code = Main.execute(args);
      return new Run(
          code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  private static String at(ApiTestServer s) {
    return "--coordinator=" + s.baseUrl();
  }

  private static JobView view(JobState state, int epoch, long step, Double loss, String error) {
    List<EpochReport> epochs =
        epoch > 1
            ? List.of(
                new EpochReport(
                    1, 8, 800, 3, 0.002, 0.01, 266.7, 2.5, Map.of("heldout", 2.6), 2, 0))
            : List.of();
    return new JobView(
        "placeholder",
        "medqa-lora",
        state,
        epoch,
        step,
        4,
        loss,
        250.0,
        3.0,
        0.01,
        0.02,
        "CNY",
        epochs,
        error);
  }

  @Test
  void submitSendsTheSpecAndPrintsTheJobId() {
    int before = server.service.submitted.size();

    Run run = lorafleet("submit", specFile.toString(), at(server));

    assertThat(run.exitCode()).isZero();
    assertThat(run.out()).startsWith("Submitted job job-").contains("(medqa-lora)");
    assertThat(server.service.submitted).hasSize(before + 1);
    assertThat(run.err()).isEmpty();
  }

  @Test
  void submitListsEveryLocalProblemWithoutContactingTheCoordinator() throws Exception {
    Files.writeString(
        specFile,
        "name: x\nmodel: /m\ndatasets: [{path: /a.jsonl, weight: -1}]\nlora: {r: 0}\nfoo: 1\n");
    int before = server.service.submitted.size();

    Run run = lorafleet("submit", specFile.toString(), at(server));

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err().lines())
        .containsExactly(
            "lorafleet submit: " + specFile + " is not a valid job spec (3 problems):",
            "  datasets[0].weight: must be positive (got -1.0)",
            "  lora.r: must be > 0 (got 0)",
            "  foo: unknown field");
    assertThat(server.service.submitted).hasSize(before);
  }

  @Test
  void submitMakesRelativePathsAbsoluteAgainstTheSpecDirectory() throws Exception {
    Files.writeString(
        specFile, "name: rel\nmodel: models/tiny\ndatasets: [{path: data/a.jsonl}]\n");

    Run run = lorafleet("submit", specFile.toString(), at(server));

    assertThat(run.exitCode()).as(run.err()).isZero();
    JobSpec received = server.service.submitted.get(server.service.submitted.size() - 1);
    assertThat(received.model()).isEqualTo(tmp.resolve("models/tiny").toString());
    assertThat(received.datasets().get(0).path()).isEqualTo(tmp.resolve("data/a.jsonl").toString());
  }

  @Test
  void submitPrintsTheCoordinatorsRefusalByField() {
    server.service.mode = TestingJobService.Mode.REJECT;
    server.service.preflightProblems =
        List.of(
            new SpecProblem("model", "/models/tiny does not exist"),
            new SpecProblem("datasets[0].path", "/data/medqa.jsonl does not exist"));

    Run run = lorafleet("submit", specFile.toString(), at(server));

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err().lines())
        .containsExactly(
            "lorafleet submit: the coordinator refused " + specFile + " (2 problems):",
            "  model: /models/tiny does not exist",
            "  datasets[0].path: /data/medqa.jsonl does not exist");
  }

  @Test
  void submitWaitShowsProgressAndExitsZeroWhenTheJobSucceeds() {
    server.service.nextRun =
        List.of(
            view(JobState.RUNNING, 1, 1, 2.9, null),
            view(JobState.RUNNING, 2, 3, 2.1, null),
            view(JobState.SUCCEEDED, 2, 4, 1.8, null));

    Run run =
        lorafleet("submit", specFile.toString(), "--wait", "--poll-interval-ms=10", at(server));

    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(run.out())
        .contains("RUNNING  epoch 1  step 1/4  loss 2.9000")
        .contains("RUNNING  epoch 2  step 3/4")
        .contains("SUCCEEDED  epoch 2  step 4/4  loss 1.8000");
    // the per-epoch report at the end
    assertThat(run.out()).contains("eval heldout").contains("2.6000");
  }

  @Test
  void submitWaitExitsNonZeroWithTheReasonWhenTheJobFails() {
    server.service.nextRun =
        List.of(
            view(JobState.RUNNING, 1, 1, 2.9, null),
            view(JobState.FAILED, 1, 2, 2.8, "train.jsonl:17: not a JSON object"));

    Run run =
        lorafleet("submit", specFile.toString(), "--wait", "--poll-interval-ms=10", at(server));

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err()).contains("ended FAILED: train.jsonl:17: not a JSON object");
  }

  @Test
  void statusPrintsATableAndOneJobAndRawJson() {
    String id = lorafleet("submit", specFile.toString(), at(server)).out().split(" ")[2];

    Run all = lorafleet("status", at(server));
    assertThat(all.exitCode()).isZero();
    assertThat(all.out().lines().findFirst().orElseThrow())
        .startsWith("ID")
        .contains("STATE")
        .contains("COST");
    assertThat(all.out()).contains(id).contains("QUEUED");

    Run one = lorafleet("status", id, at(server));
    assertThat(one.exitCode()).isZero();
    assertThat(one.out()).startsWith("job " + id + " (medqa-lora)");

    Run json = lorafleet("status", id, "--json", at(server));
    assertThat(json.exitCode()).isZero();
    assertThat(json.out()).startsWith("{\"id\":\"" + id + "\"");
  }

  @Test
  void statusOfAnUnknownJobIsAOneLineErrorAndExitOne() {
    Run run = lorafleet("status", "job-404", at(server));

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err().strip()).isEqualTo("lorafleet status: id: no job with id 'job-404'");
  }

  @Test
  void cancelStopsAJobAndRefusesAnUnknownOne() {
    String id = lorafleet("submit", specFile.toString(), at(server)).out().split(" ")[2];

    Run run = lorafleet("cancel", id, at(server));
    assertThat(run.exitCode()).isZero();
    assertThat(run.out()).startsWith("Cancelling job " + id);
    assertThat(server.service.cancelled).contains(id);

    assertThat(lorafleet("cancel", id, at(server)).out()).contains("has ended: CANCELLED");
    assertThat(lorafleet("cancel", "nope", at(server)).exitCode()).isEqualTo(1);
  }

  @Test
  void scaleAsksForWorkersAndReportsWhenItCannot() {
    Run run = lorafleet("scale", "--workers", "3", at(server));
    assertThat(run.exitCode()).isZero();
    assertThat(run.out()).startsWith("Asked for 3 workers; 1 in the cluster now");
    assertThat(server.service.scaleRequests).contains(3);

    server.service.canScale = false;
    Run refused = lorafleet("scale", "--workers", "3", at(server));
    assertThat(refused.exitCode()).isEqualTo(1);
    assertThat(refused.err().lines()).hasSize(1);
    assertThat(refused.err()).contains("does not run on Kubernetes");

    assertThat(lorafleet("scale", "--workers", "-1", at(server)).exitCode()).isEqualTo(2);
  }

  @Test
  void anUnreachableCoordinatorIsAOneLineError() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }

    Run run = lorafleet("status", "--coordinator", "http://127.0.0.1:" + closedPort);

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err().strip())
        .isEqualTo(
            "lorafleet status: cannot reach the coordinator at http://127.0.0.1:"
                + closedPort
                + " (connection refused); is it running? (set --coordinator or"
                + " LORAFLEET_COORDINATOR)");
  }

  @Test
  void aBadCoordinatorUrlIsAUsageError() {
    Run run = lorafleet("status", "--coordinator", "ftp://host");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("must start with http:// or https://");
  }

  @Test
  void sendsTheTokenFromTheTokenFile() throws Exception {
    Path tokenFile = Files.writeString(tmp.resolve("token"), TOKEN + "\n");

    Run withToken = lorafleet("status", at(guarded), "--token-file", tokenFile.toString());
    assertThat(withToken.exitCode()).as(withToken.err()).isZero();

    Run without = lorafleet("status", at(guarded));
    assertThat(without.exitCode()).isEqualTo(1);
    // (the server in this JVM logs the refusal to stderr too: look at the client's line)
    assertThat(without.err().lines().filter(line -> line.startsWith("lorafleet")))
        .containsExactly(
            "lorafleet status: Authorization: this coordinator needs a token: send"
                + " Authorization: Bearer <token>");

    Run missingFile =
        lorafleet("status", at(guarded), "--token-file", tmp.resolve("nope").toString());
    assertThat(missingFile.exitCode()).isEqualTo(2);
    assertThat(missingFile.err()).contains("token file " + tmp.resolve("nope") + " does not exist");
  }

  @Test
  void submitOfAMissingFileIsAOneLineError() {
    Run run = lorafleet("submit", tmp.resolve("missing.yaml").toString(), at(server));

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err().strip())
        .isEqualTo("lorafleet submit: " + tmp.resolve("missing.yaml") + " does not exist");
  }
}
