package dev.lorafleet.coordinator.cli;

import dev.lorafleet.coordinator.api.TokenFile;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Where the coordinator is and how to prove who we are: shared by the API client commands. */
final class ClientOptions {
  @Spec(Spec.Target.MIXEE)
  CommandSpec mixee;

  @Option(
      names = "--coordinator",
      paramLabel = "URL",
      defaultValue = "${env:LORAFLEET_COORDINATOR:-http://127.0.0.1:8080}",
      description =
          "The coordinator's HTTP API (env LORAFLEET_COORDINATOR; default ${DEFAULT-VALUE}).")
  String coordinator;

  @Option(
      names = "--token-file",
      paramLabel = "FILE",
      defaultValue = "${env:LORAFLEET_TOKEN_FILE}",
      description =
          "File holding the coordinator's bearer token (env LORAFLEET_TOKEN_FILE; or put the"
              + " token itself in LORAFLEET_TOKEN).")
  Path tokenFile;

  @Option(
      names = "--timeout-seconds",
      paramLabel = "S",
      defaultValue = "30",
      description = "How long one API call may take (default ${DEFAULT-VALUE}).")
  int timeoutSeconds;

  /** A client for the chosen coordinator; a bad URL or token file is a usage error. */
  ApiClient client() {
    URI base;
    try {
      base = ApiClient.parseBaseUrl(coordinator);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(mixee.commandLine(), e.getMessage());
    }
    if (timeoutSeconds <= 0) {
      throw new CommandLine.ParameterException(
          mixee.commandLine(), "--timeout-seconds must be > 0, got " + timeoutSeconds);
    }
    return new ApiClient(base, token(), Duration.ofSeconds(timeoutSeconds));
  }

  private Optional<String> token() {
    if (tokenFile != null) {
      try {
        return Optional.of(TokenFile.load(tokenFile));
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(mixee.commandLine(), e.getMessage());
      }
    }
    String fromEnv = System.getenv("LORAFLEET_TOKEN");
    return fromEnv == null || fromEnv.isBlank() ? Optional.empty() : Optional.of(fromEnv.strip());
  }
}
