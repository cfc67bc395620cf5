package dev.lorafleet.coordinator.cli;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Defaults for long-running roles from, in this order: the environment ({@code --http-port} →
 * {@code LORAFLEET_HTTP_PORT}), then the properties file named by {@code LORAFLEET_CONFIG} ({@code
 * http-port=8080}), then the option's built-in default. A flag on the command line beats all of
 * them. A config file that names an unknown key or cannot be read is an error, not ignored.
 */
final class ConfigFileDefaults implements CommandLine.IDefaultValueProvider {
  static final String CONFIG_ENV = "LORAFLEET_CONFIG";

  private final Map<String, String> env;
  private Properties file;

  ConfigFileDefaults() {
    this(System.getenv());
  }

  ConfigFileDefaults(Map<String, String> env) {
    this.env = env;
  }

  @Override
  public String defaultValue(ArgSpec arg) {
    if (!(arg instanceof OptionSpec option) || !option.longestName().startsWith("--")) {
      return null;
    }
    String key = option.longestName().substring(2);
    String fromEnv = env.get(envName(key));
    if (fromEnv != null && !fromEnv.isBlank()) {
      return fromEnv;
    }
    Properties config = config(option.command());
    return config == null ? null : config.getProperty(key);
  }

  static String envName(String optionKey) {
    return "LORAFLEET_" + optionKey.toUpperCase(Locale.ROOT).replace('-', '_');
  }

  private Properties config(CommandLine.Model.CommandSpec command) {
    if (file != null) {
      return file;
    }
    String path = env.get(CONFIG_ENV);
    if (path == null || path.isBlank()) {
      return null;
    }
    Properties loaded = new Properties();
    try (Reader in = Files.newBufferedReader(Path.of(path), StandardCharsets.UTF_8)) {
      loaded.load(in);
    } catch (IOException | IllegalArgumentException e) {
      throw new CommandLine.ParameterException(
          command.commandLine(),
          "cannot read the config file " + path + " (from " + CONFIG_ENV + "): " + e.getMessage());
    }
    for (String key : loaded.stringPropertyNames()) {
      if (command.findOption("--" + key) == null) {
        throw new CommandLine.ParameterException(
            command.commandLine(),
            path + ": unknown key '" + key + "' for '" + command.name() + "'");
      }
    }
    file = loaded;
    return file;
  }
}
