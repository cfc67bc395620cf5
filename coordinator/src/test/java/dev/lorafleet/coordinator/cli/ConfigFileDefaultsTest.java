package dev.lorafleet.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

class ConfigFileDefaultsTest {
  @Command(name = "role")
  static final class Role {
    @Option(names = "--http-port", defaultValue = "8080")
    int httpPort;

    @Option(names = "--data-dir", defaultValue = "lorafleet-data")
    String dataDir;
  }

  private static Role parse(Map<String, String> env, String... args) {
    Role role = new Role();
    new CommandLine(role).setDefaultValueProvider(new ConfigFileDefaults(env)).parseArgs(args);
    return role;
  }

  @Test
  void flagBeatsEnvironmentBeatsFileBeatsBuiltIn(@TempDir Path dir) throws Exception {
    Path config = dir.resolve("coordinator.properties");
    Files.writeString(config, "http-port=7000\ndata-dir=/from/file\n");
    Map<String, String> env =
        Map.of(ConfigFileDefaults.CONFIG_ENV, config.toString(), "LORAFLEET_HTTP_PORT", "7100");

    assertThat(parse(env, "--http-port", "7200").httpPort).isEqualTo(7200);
    assertThat(parse(env).httpPort).isEqualTo(7100);
    assertThat(parse(env).dataDir).isEqualTo("/from/file");
    assertThat(parse(Map.of()).httpPort).isEqualTo(8080);
  }

  @Test
  void refusesUnknownKeyInConfigFile(@TempDir Path dir) throws Exception {
    Path config = dir.resolve("bad.properties");
    Files.writeString(config, "http-prot=7000\n");
    assertThatThrownBy(() -> parse(Map.of(ConfigFileDefaults.CONFIG_ENV, config.toString())))
        .hasMessageContaining("unknown key 'http-prot'")
        .hasMessageContaining(config.toString());
  }

  @Test
  void namesAnUnreadableConfigFile(@TempDir Path dir) {
    Path missing = dir.resolve("missing.properties");
    assertThatThrownBy(() -> parse(Map.of(ConfigFileDefaults.CONFIG_ENV, missing.toString())))
        .hasMessageContaining("cannot read the config file " + missing);
  }
}
