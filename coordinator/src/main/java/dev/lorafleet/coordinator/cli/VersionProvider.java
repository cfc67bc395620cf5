package dev.lorafleet.coordinator.cli;

import picocli.CommandLine;

/** The version printed by {@code --version}, from the jar's manifest. */
final class VersionProvider implements CommandLine.IVersionProvider {
  @Override
  public String[] getVersion() {
    String version = Main.class.getPackage().getImplementationVersion();
    return new String[] {"lorafleet " + (version == null ? "development build" : version)};
  }
}
