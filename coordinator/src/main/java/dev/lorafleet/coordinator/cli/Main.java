package dev.lorafleet.coordinator.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code lorafleet} command line: one entry point for every role and client. */
@Command(
    name = "lorafleet",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = "Fine-tune large language models with LoRA on a fleet of GPU nodes.",
    subcommands = {
      DemoCommand.class,
      RunCommand.class,
      CoordinatorCommand.class,
      WorkerCommand.class,
      SubmitCommand.class,
      StatusCommand.class,
      CancelCommand.class,
      ScaleCommand.class,
      EvalCommand.class,
      PlanCommand.class,
      MergeCommand.class,
      BenchCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(execute(args));
  }

  /** Runs the command line and returns its exit code (tests call this instead of main). */
  public static int execute(String... args) {
    keepDjlLocal();
    CommandLine cli = new CommandLine(new Main());
    cli.setParameterExceptionHandler(Main::oneLineUsageError);
    cli.setExecutionExceptionHandler(
        (ex, cmd, parsed) -> {
          cmd.getErr().println("lorafleet " + cmd.getCommandName() + ": " + describe(ex));
          return 1;
        });
    return cli.execute(args);
  }

  /**
   * DJL otherwise probes the EC2 metadata address for usage tracking and may try to download native
   * libraries; lorafleet runs offline with the native library from the class path.
   */
  static void keepDjlLocal() {
    if (System.getProperty("OPT_OUT_TRACKING") == null) {
      System.setProperty("OPT_OUT_TRACKING", "true");
    }
    if (System.getProperty("ai.djl.offline") == null) {
      System.setProperty("ai.djl.offline", "true");
    }
  }

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  private static int oneLineUsageError(CommandLine.ParameterException ex, String[] args) {
    CommandLine cmd = ex.getCommandLine();
    cmd.getErr()
        .println(
            "lorafleet: "
                + ex.getMessage()
                + " (see: lorafleet "
                + qualifiedName(cmd)
                + " --help)");
    return 2;
  }

  private static String qualifiedName(CommandLine cmd) {
    String name = cmd.getCommandSpec().qualifiedName(" ");
    return name.startsWith("lorafleet ") ? name.substring("lorafleet ".length()) : "";
  }

  private static String describe(Throwable ex) {
    String message = ex.getMessage();
    return message == null || message.isBlank() ? ex.toString() : message;
  }
}
