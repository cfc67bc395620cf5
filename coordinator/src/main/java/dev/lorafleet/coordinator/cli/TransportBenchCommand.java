package dev.lorafleet.coordinator.cli;

import dev.lorafleet.common.transport.CoordinatorDataPlane;
import dev.lorafleet.common.transport.DataPlaneConfig;
import dev.lorafleet.common.transport.DataPlaneConfig.Transport;
import dev.lorafleet.common.transport.GatherResult;
import dev.lorafleet.common.transport.GradientReducer;
import dev.lorafleet.common.transport.ReducedGradient;
import dev.lorafleet.common.transport.TransportCounters;
import dev.lorafleet.common.wire.VectorFrame;
import dev.lorafleet.common.wire.WireDtype;
import io.aeron.driver.ThreadingMode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.UnsafeBuffer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lorafleet bench transport}: one gather (every sender process sends a vector, the
 * coordinator sums them) and one broadcast (the coordinator sends a vector to every sender) per
 * vector size and sender count, over Aeron UDP on loopback, Aeron IPC and plain NIO TCP, beside the
 * machine's memcpy and vector-add bandwidth and the reducer's own rate.
 */
@Command(
    name = "transport",
    mixinStandardHelpOptions = true,
    description = {
      "Gather + broadcast of fp32 adapter vectors between this process and sender processes:",
      "Aeron UDP (loopback), Aeron IPC and a plain NIO TCP baseline, beside memcpy and",
      "vector-add bandwidth. Prints GB/s and, last, udp_vs_tcp, ipc_vs_memcpy, reduce_vs_add."
    })
final class TransportBenchCommand implements Callable<Integer> {
  private static final String JOB = "bench";
  private static final Duration TIMEOUT = Duration.ofSeconds(120);
  private static final int REDUCE_WORKERS = 2;
  private static final int WARM_UP_ROUNDS = 3;
  private static final long WARM_UP_ELEMENTS = 160_000_000L;
  private static final long MAX_WARM_UP_ROUNDS = 40;

  /** Memory baselines repeat for at least this long (the JIT compiles them on the way). */
  private static final long WARM_NANOS = Duration.ofMillis(1500).toNanos();

  @Option(
      names = "--sizes",
      split = ",",
      defaultValue = "4M,40M",
      description = "Vector lengths in fp32 elements, K/M = 10^3/10^6 (default: ${DEFAULT-VALUE}).")
  List<String> sizes;

  @Option(
      names = "--senders",
      split = ",",
      defaultValue = "1,2,4",
      description = "Sender process counts (default: ${DEFAULT-VALUE}).")
  List<Integer> senders;

  @Option(
      names = "--transports",
      split = ",",
      defaultValue = "udp,ipc,tcp",
      description =
          "Any of udp, ipc, tcp; none measures only memory and the reducer"
              + " (default: ${DEFAULT-VALUE}).")
  List<String> transports;

  @Option(
      names = "--repetitions",
      defaultValue = "3",
      description =
          "Measured runs per cell, best kept, after one warm-up (default: ${DEFAULT-VALUE}).")
  int repetitions;

  @Option(names = "--term-length", description = "Aeron term length in bytes (power of two).")
  Integer termLength;

  @Option(
      names = "--mtu",
      description = "Aeron MTU in bytes between machines (loopback and IPC always use 65504).")
  Integer mtu;

  @Option(names = "--socket-buffer", description = "UDP socket buffer bytes.")
  Integer socketBuffer;

  @Option(names = "--chunk-bytes", description = "Payload bytes per chunk (0: one full frame).")
  Integer chunkBytes;

  @Option(names = "--threading-mode", description = "Aeron media driver threading mode.")
  ThreadingMode threadingMode;

  @Option(names = "--driver-dir", description = "Parent directory of the Aeron driver directories.")
  Path driverDirectory;

  @Option(
      names = "--counters",
      description = "Print the coordinator media driver's loss and retransmit counters per cell.")
  boolean showCounters;

  @Option(
      names = "--sender-heap",
      defaultValue = "1200m",
      description = "Heap of each sender process (default: ${DEFAULT-VALUE}).")
  String senderHeap;

  private final PrintStream out = System.out;
  private long nextStep = 1;

  @Override
  public Integer call() throws Exception {
    DataPlaneConfig config = config();
    List<Integer> lengths = sizes.stream().map(TransportBenchCommand::parseSize).toList();
    int maxLength = lengths.stream().mapToInt(Integer::intValue).max().orElseThrow();
    for (String transport : transports) {
      if (!List.of("udp", "ipc", "tcp", "none").contains(transport)) {
        throw new IllegalArgumentException(
            "unknown transport '" + transport + "' (udp, ipc, tcp or none)");
      }
    }
    out.printf(
        Locale.ROOT,
        "bench transport: %d cores, Java %s; Aeron term %d KiB, MTU %d (loopback and IPC: 65504),"
            + " socket buffer %d KiB,"
            + " %s threading, driver dir %s%n",
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"),
        config.termLength() / 1024,
        config.mtu(),
        config.socketBufferBytes() / 1024,
        config.threadingMode(),
        config.driverDirectoryParent());

    double memcpy = memcpyGbPerSecond(maxLength);
    double[] reduceAndAdd = reduceAndAddGbPerSecond(maxLength, REDUCE_WORKERS, config);
    double reduce = reduceAndAdd[0];
    double add = reduceAndAdd[1];
    out.printf(Locale.ROOT, "memcpy      %,d floats: %6.2f GB/s copied%n", maxLength, memcpy);
    out.printf(
        Locale.ROOT,
        "vector add  %,d floats x %d vectors into one: %6.2f GB/s of addends%n",
        maxLength,
        REDUCE_WORKERS,
        add);
    out.printf(
        Locale.ROOT,
        "reduce      %,d floats x %d workers' frames (checksum + add): %6.2f GB/s of payload%n",
        maxLength,
        REDUCE_WORKERS,
        reduce);
    out.printf(
        Locale.ROOT,
        "%-10s %7s %12s %12s %14s %10s%n",
        "transport",
        "senders",
        "elements",
        "gather GB/s",
        "broadcast GB/s",
        "both GB/s");

    Map<String, Double> both = new LinkedHashMap<>();
    for (String transport : transports) {
      if (transport.equals("none")) {
        continue;
      }
      for (int count : senders) {
        try (SenderGroup group = open(transport, count, config)) {
          group.warmUp(Math.min(maxLength, 1_000_000));
          for (int length : lengths) {
            // unmeasured rounds at this size: senders build their vectors, buffers of this size
            // are allocated and paged in, and the JIT compiles the per-frame paths of the fresh
            // sender processes (what a training run's thousands of steps see). By volume, not by
            // count: 4M-element cells right after start measured half as fast as the same cell
            // after a 40M one, for Aeron only (its per-frame methods were still interpreted or
            // in C1; TCP's path is the kernel's)
            int rounds =
                (int)
                    Math.min(
                        MAX_WARM_UP_ROUNDS,
                        Math.max(WARM_UP_ROUNDS, (WARM_UP_ELEMENTS + length - 1) / length));
            for (int w = 0; w < rounds; w++) {
              group.gather(length);
              group.broadcast(length);
            }
            double bestGather = Double.MAX_VALUE;
            double bestBroadcast = Double.MAX_VALUE;
            for (int r = 0; r < repetitions; r++) {
              bestGather = Math.min(bestGather, group.gather(length));
              bestBroadcast = Math.min(bestBroadcast, group.broadcast(length));
            }
            double bytes = 4.0 * length * count;
            double gatherRate = bytes / bestGather / 1e9;
            double broadcastRate = bytes / bestBroadcast / 1e9;
            double bothRate = 2 * bytes / (bestGather + bestBroadcast) / 1e9;
            both.put(transport + "/" + count + "/" + length, bothRate);
            out.printf(
                Locale.ROOT,
                "%-10s %7d %,12d %12.2f %14.2f %10.2f%n",
                group.name(),
                count,
                length,
                gatherRate,
                broadcastRate,
                bothRate);
          }
        }
      }
    }
    out.println(
        "ratios: udp_vs_tcp = geometric mean over cells of Aeron UDP / TCP (gather+broadcast);"
            + " ipc_vs_memcpy = geometric mean of Aeron IPC over memcpy; reduce_vs_add = reducer"
            + " over vector add");
    out.println(
        "udp_vs_tcp="
            + ratio(both, "udp", "tcp", 1)
            + " ipc_vs_memcpy="
            + ratio(both, "ipc", null, memcpy)
            + " reduce_vs_add="
            + String.format(Locale.ROOT, "%.2f", reduce / add));
    return 0;
  }

  private DataPlaneConfig config() {
    DataPlaneConfig config = DataPlaneConfig.defaults().withPorts(0, 0);
    if (termLength != null) {
      config = config.withTermLength(termLength);
    }
    if (mtu != null) {
      config = config.withMtu(mtu);
    }
    if (socketBuffer != null) {
      config = config.withSocketBufferBytes(socketBuffer);
    }
    if (chunkBytes != null) {
      config = config.withChunkBytes(chunkBytes);
    }
    if (threadingMode != null) {
      config = config.withThreadingMode(threadingMode);
    }
    if (driverDirectory != null) {
      config = config.withDriverDirectoryParent(driverDirectory);
    }
    return config.withSendTimeout(TIMEOUT);
  }

  static int parseSize(String text) {
    String t = text.trim().toUpperCase(Locale.ROOT);
    long scale = 1;
    if (t.endsWith("M")) {
      scale = 1_000_000;
      t = t.substring(0, t.length() - 1);
    } else if (t.endsWith("K")) {
      scale = 1_000;
      t = t.substring(0, t.length() - 1);
    }
    long value;
    try {
      value = Long.parseLong(t) * scale;
    } catch (NumberFormatException e) {
      value = -1;
    }
    if (value <= 0 || value > 250_000_000) {
      throw new IllegalArgumentException(
          "size '" + text + "' is not a vector length between 1 and 250M elements (e.g. 4M)");
    }
    return (int) value;
  }

  private static String ratio(Map<String, Double> both, String top, String bottom, double base) {
    double logSum = 0;
    int cells = 0;
    for (Map.Entry<String, Double> cell : both.entrySet()) {
      if (!cell.getKey().startsWith(top + "/")) {
        continue;
      }
      double denominator = base;
      if (bottom != null) {
        Double other = both.get(bottom + cell.getKey().substring(top.length()));
        if (other == null) {
          continue;
        }
        denominator = other;
      }
      logSum += Math.log(cell.getValue() / denominator);
      cells++;
    }
    return cells == 0 ? "n/a" : String.format(Locale.ROOT, "%.2f", Math.exp(logSum / cells));
  }

  // ---------------------------------------------------------------- memory baselines

  static double memcpyGbPerSecond(int length) {
    float[] source = new float[length];
    float[] target = new float[length];
    java.util.Arrays.fill(source, 1.5f);
    long best = Long.MAX_VALUE;
    for (long end = System.nanoTime() + WARM_NANOS, r = 0; r < 5 || System.nanoTime() < end; r++) {
      long start = System.nanoTime();
      System.arraycopy(source, 0, target, 0, length);
      best = Math.min(best, System.nanoTime() - start);
    }
    return 4.0 * length / best;
  }

  private static void add(float[] accumulator, float[] addend, int length) {
    for (int i = 0; i < length; i++) {
      accumulator[i] += addend[i];
    }
  }

  /**
   * The reducer beside the bare vector add it performs, runs alternating so that both meet the same
   * machine load; best of each. The reducer is fed {@code workers} vectors already framed in
   * off-heap memory (as Aeron's term buffers hold them), chunk by chunk, workers interleaved; the
   * vector add adds {@code workers} whole float arrays into one. Both in GB/s of addends.
   *
   * @return {reduce, add}
   */
  static double[] reduceAndAddGbPerSecond(int length, int workers, DataPlaneConfig config) {
    int chunk = VectorFrame.maxChunkElements(WireDtype.FP32, config.mtu() - 32);
    int chunks = (length + chunk - 1) / chunk;
    int frameBytes = VectorFrame.frameLength(WireDtype.FP32, chunk);
    List<String> ids = new ArrayList<>();
    List<UnsafeBuffer> framed = new ArrayList<>();
    float[][] vectors = new float[workers][length];
    for (int w = 0; w < workers; w++) {
      ids.add("w" + w);
      float[] values = vectors[w];
      for (int i = 0; i < length; i++) {
        values[i] = TransportBenchSender.value(w, i);
      }
      UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(chunks * frameBytes + 64));
      for (int c = 0; c < chunks; c++) {
        int offset = c * chunk;
        int count = Math.min(chunk, length - offset);
        VectorFrame.encodeHeader(
            buffer,
            c * frameBytes,
            VectorFrame.KIND_GRADIENT,
            WireDtype.FP32,
            VectorFrame.key(JOB),
            1,
            VectorFrame.key("w" + w),
            0,
            c,
            length,
            offset,
            count,
            1,
            1.0);
        VectorFrame.encodePayload(buffer, c * frameBytes, WireDtype.FP32, values, offset, count);
        VectorFrame.sealChecksum(
            buffer, c * frameBytes, VectorFrame.frameLength(WireDtype.FP32, count));
      }
      framed.add(buffer);
    }
    float[] accumulator = new float[length];
    long bestReduce = Long.MAX_VALUE;
    long bestAdd = Long.MAX_VALUE;
    for (long end = System.nanoTime() + 2 * WARM_NANOS, r = 0;
        r < 5 || System.nanoTime() < end;
        r++) {
      GradientReducer reducer =
          new GradientReducer(JOB, 1, 0, ids, length, new TransportCounters());
      long start = System.nanoTime();
      reduceAll(reducer, framed, chunks, chunk, frameBytes, length);
      bestReduce = Math.min(bestReduce, System.nanoTime() - start);
      if (!reducer.isComplete()) {
        throw new IllegalStateException("the reducer did not complete the bench vectors");
      }
      start = System.nanoTime();
      for (float[] vector : vectors) {
        add(accumulator, vector, length);
      }
      bestAdd = Math.min(bestAdd, System.nanoTime() - start);
    }
    double bytes = 4.0 * length * workers;
    return new double[] {bytes / bestReduce, bytes / bestAdd};
  }

  private static void reduceAll(
      GradientReducer reducer,
      List<UnsafeBuffer> framed,
      int chunks,
      int chunk,
      int frameBytes,
      int length) {
    for (int c = 0; c < chunks; c++) {
      int count = Math.min(chunk, length - c * chunk);
      int bytes = VectorFrame.frameLength(WireDtype.FP32, count);
      // as Aeron's images offer them: a held frame is offered again until it is taken
      int taken = 0;
      for (int pass = 0; taken != (1 << framed.size()) - 1; pass++) {
        if (pass > framed.size()) {
          throw new IllegalStateException(
              "the reducer did not take the bench frames of chunk " + c);
        }
        for (int w = 0; w < framed.size(); w++) {
          if ((taken & (1 << w)) != 0) {
            continue;
          }
          GradientReducer.Verdict verdict =
              reducer.onFrame(framed.get(w), c * frameBytes, bytes, w);
          if (verdict == GradientReducer.Verdict.DROPPED) {
            throw new IllegalStateException("the reducer refused a bench frame");
          }
          if (verdict == GradientReducer.Verdict.ADDED) {
            taken |= 1 << w;
          }
        }
      }
    }
  }

  // ---------------------------------------------------------------- sender processes

  private SenderGroup open(String transport, int count, DataPlaneConfig config) throws IOException {
    return switch (transport) {
      case "udp" -> new AeronGroup("aeron-udp", count, config);
      case "ipc" -> new AeronGroup("aeron-ipc", count, config.withTransport(Transport.IPC));
      default -> new TcpGroup(count);
    };
  }

  private static float parameter(int i, long step) {
    return (i % 997) * 1e-4f + step;
  }

  private static float[] parameters(int length, long step) {
    float[] p = new float[length];
    for (int i = 0; i < length; i++) {
      p[i] = parameter(i, step);
    }
    return p;
  }

  /** The sender processes of one cell and the way to talk to them. */
  private abstract class SenderGroup implements AutoCloseable {
    private final String name;
    final int count;
    private final List<Process> processes = new ArrayList<>();
    private final List<PrintStream> commands = new ArrayList<>();
    private final List<BlockingQueue<String>> replies = new ArrayList<>();

    SenderGroup(String name, int count) {
      this.name = name;
      this.count = count;
    }

    String name() {
      return name;
    }

    void spawn(List<String> senderArgs) throws IOException {
      String java =
          ProcessHandle.current()
              .info()
              .command()
              .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      for (int i = 0; i < count; i++) {
        List<String> command = new ArrayList<>();
        command.add(java);
        command.add("-Xmx" + senderHeap);
        command.add("-XX:+UseSerialGC");
        // the data plane's and Aeron's tuning properties (-Dlorafleet.dataplane.yields=…) apply
        // to the senders too
        for (String p : System.getProperties().stringPropertyNames()) {
          if (p.startsWith("lorafleet.dataplane.") || p.startsWith("aeron.")) {
            command.add("-D" + p + "=" + System.getProperty(p));
          }
        }
        command.add("--add-exports");
        command.add("java.base/jdk.internal.misc=ALL-UNNAMED");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(TransportBenchSender.class.getName());
        command.add("--index=" + i);
        command.addAll(senderArgs);
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().put("LORAFLEET_LOG_LEVEL", "WARN");
        builder.redirectError(ProcessBuilder.Redirect.INHERIT);
        Process process = builder.start();
        processes.add(process);
        commands.add(new PrintStream(process.getOutputStream(), true, StandardCharsets.UTF_8));
        BlockingQueue<String> queue = new LinkedBlockingQueue<>();
        replies.add(queue);
        Thread reader =
            new Thread(
                () -> {
                  try (BufferedReader lines =
                      new BufferedReader(
                          new InputStreamReader(
                              process.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = lines.readLine()) != null) {
                      if (line.startsWith(TransportBenchSender.REPLY)) {
                        queue.add(line.substring(TransportBenchSender.REPLY.length()));
                      }
                    }
                  } catch (IOException e) {
                    queue.add("DIED " + e.getMessage());
                  }
                  queue.add("DIED");
                },
                "bench-sender-" + i);
        reader.setDaemon(true);
        reader.start();
      }
    }

    void tellAll(String line) {
      for (PrintStream command : commands) {
        command.println(line);
      }
    }

    /** Every sender's next reply, which must start with {@code expected}. */
    List<String> awaitAll(String expected) throws InterruptedException {
      List<String> answers = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        String reply = replies.get(i).poll(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        if (reply == null || !reply.startsWith(expected)) {
          throw new IllegalStateException(
              "bench sender "
                  + i
                  + " answered "
                  + (reply == null ? "nothing in " + TIMEOUT.toSeconds() + " s" : "'" + reply + "'")
                  + " where '"
                  + expected
                  + "' was expected; see its errors above");
        }
        answers.add(reply);
      }
      return answers;
    }

    void warmUp(int length) throws Exception {
      gather(length);
      broadcast(length);
    }

    /** One gather of {@code length} floats from every sender; seconds. */
    abstract double gather(int length) throws Exception;

    /** One broadcast of {@code length} floats to every sender; seconds. */
    abstract double broadcast(int length) throws Exception;

    void checkSum(float[] sum, int length) {
      for (int i : new int[] {0, length / 2, length - 1}) {
        float expected = 0;
        for (int w = 0; w < count; w++) {
          expected += TransportBenchSender.value(w, i);
        }
        if (Float.floatToRawIntBits(sum[i]) != Float.floatToRawIntBits(expected)) {
          throw new IllegalStateException(
              name + ": element " + i + " of the sum is " + sum[i] + ", expected " + expected);
        }
      }
    }

    void checkReceived(List<String> replies, float[] sent, long step) {
      String expected = "GOT " + step + " " + TransportBenchSender.samples(sent, sent.length);
      for (String reply : replies) {
        if (!reply.equals(expected)) {
          throw new IllegalStateException(
              name + ": a sender received '" + reply + "', expected '" + expected + "'");
        }
      }
    }

    @Override
    public void close() throws IOException {
      tellAll("EXIT");
      for (Process process : processes) {
        try {
          if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
          }
        } catch (InterruptedException e) {
          process.destroyForcibly();
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  /** Aeron, UDP or IPC: this process is the coordinator, the senders are workers. */
  private final class AeronGroup extends SenderGroup {
    private final CoordinatorDataPlane coordinator;
    private final List<String> ids = new ArrayList<>();

    AeronGroup(String name, int count, DataPlaneConfig config) throws IOException {
      super(name, count);
      coordinator = CoordinatorDataPlane.open(config);
      for (int i = 0; i < count; i++) {
        ids.add("sender-" + i);
      }
      try {
        spawn(
            List.of(
                "--mode=aeron",
                "--endpoints=" + coordinator.endpoints().encode(),
                "--term-length=" + config.termLength(),
                "--mtu=" + config.mtu(),
                "--socket-buffer=" + config.socketBufferBytes(),
                "--chunk-bytes=" + config.chunkBytes(),
                "--threading-mode=" + config.threadingMode(),
                "--driver-dir=" + config.driverDirectoryParent()));
        awaitAll("READY");
      } catch (IOException | InterruptedException | RuntimeException e) {
        coordinator.close();
        throw new IOException("bench senders did not start: " + e.getMessage(), e);
      }
    }

    @Override
    double gather(int length) throws Exception {
      long step = nextStep++;
      var future = coordinator.gather(JOB, step, ids, length, TIMEOUT);
      long start = System.nanoTime();
      tellAll("GATHER " + step + " " + length);
      GatherResult result = future.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      long elapsed = System.nanoTime() - start;
      awaitAll("SENT");
      if (!(result instanceof GatherResult.Complete complete)) {
        throw new IllegalStateException(name() + ": gather did not complete: " + result);
      }
      ReducedGradient sum = complete.gradient();
      checkSum(sum.sum(), length);
      coordinator.recycle(JOB, sum.sum()); // as the job runner does once the optimizer is done
      return elapsed / 1e9;
    }

    @Override
    double broadcast(int length) throws Exception {
      long step = nextStep++;
      float[] p = parameters(length, step);
      tellAll("RECV " + step + " " + length);
      awaitAll("WAITING");
      long start = System.nanoTime();
      coordinator.broadcast(JOB, step, p).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      List<String> got = awaitAll("GOT");
      long elapsed = System.nanoTime() - start;
      checkReceived(got, p, step);
      return elapsed / 1e9;
    }

    @Override
    public void close() throws IOException {
      try {
        super.close();
        if (showCounters) {
          out.println(
              "  "
                  + name()
                  + " coordinator driver: "
                  + coordinator.driverCounters(
                      "nak", "retransmit", "loss", "short", "error", "flow control"));
        }
      } finally {
        coordinator.close();
      }
    }
  }

  /**
   * The baseline a user would write with plain Java NIO: one TCP connection per sender, the
   * coordinator reads every vector whole (a selector over all connections), then sums them in a
   * fixed order; the broadcast writes the same buffer to every connection.
   */
  private final class TcpGroup extends SenderGroup {
    private final ServerSocketChannel server;
    private final Selector selector;
    private final SocketChannel[] channels;
    private final SelectionKey[] keys;
    private ByteBuffer[] buffers = new ByteBuffer[0];
    private ByteBuffer outgoing = ByteBuffer.allocateDirect(0);

    TcpGroup(int count) throws IOException {
      super("nio-tcp", count);
      server = ServerSocketChannel.open();
      server.bind(new InetSocketAddress("127.0.0.1", 0));
      selector = Selector.open();
      channels = new SocketChannel[count];
      keys = new SelectionKey[count];
      spawn(
          List.of(
              "--mode=tcp", "--port=" + ((InetSocketAddress) server.getLocalAddress()).getPort()));
      for (int i = 0; i < count; i++) {
        SocketChannel channel = server.accept();
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        channel.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
        channel.setOption(StandardSocketOptions.SO_SNDBUF, 4 << 20);
        ByteBuffer hello = ByteBuffer.allocate(4);
        while (hello.hasRemaining()) {
          channel.read(hello);
        }
        int index = hello.getInt(0);
        channel.configureBlocking(false);
        channels[index] = channel;
        keys[index] = channel.register(selector, 0, index);
      }
      try {
        awaitAll("READY");
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while the bench senders started", e);
      }
    }

    @Override
    double gather(int length) throws Exception {
      long step = nextStep++;
      if (buffers.length != count || buffers[0].capacity() < 4 * length) {
        buffers = new ByteBuffer[count];
        for (int i = 0; i < count; i++) {
          buffers[i] = ByteBuffer.allocateDirect(4 * length).order(ByteOrder.LITTLE_ENDIAN);
        }
      }
      long start = System.nanoTime();
      tellAll("GATHER " + step + " " + length);
      for (int i = 0; i < count; i++) {
        buffers[i].clear().limit(4 * length);
        keys[i].interestOps(SelectionKey.OP_READ);
      }
      int open = count;
      while (open > 0) {
        selector.select();
        for (SelectionKey key : selector.selectedKeys()) {
          int index = (Integer) key.attachment();
          if (channels[index].read(buffers[index]) < 0) {
            throw new IOException("bench sender " + index + " closed its connection");
          }
          if (!buffers[index].hasRemaining()) {
            key.interestOps(0);
            open--;
          }
        }
        selector.selectedKeys().clear();
      }
      float[] sum = new float[length];
      float[] scratch = new float[16 * 1024];
      for (int i = 0; i < count; i++) {
        buffers[i].flip();
        FloatBuffer floats = buffers[i].asFloatBuffer();
        for (int offset = 0; offset < length; offset += scratch.length) {
          int n = Math.min(scratch.length, length - offset);
          floats.get(scratch, 0, n);
          for (int k = 0; k < n; k++) {
            sum[offset + k] += scratch[k];
          }
        }
      }
      long elapsed = System.nanoTime() - start;
      awaitAll("SENT");
      checkSum(sum, length);
      return elapsed / 1e9;
    }

    @Override
    double broadcast(int length) throws Exception {
      long step = nextStep++;
      float[] p = parameters(length, step);
      if (outgoing.capacity() < 4 * length) {
        outgoing = ByteBuffer.allocateDirect(4 * length).order(ByteOrder.LITTLE_ENDIAN);
      }
      tellAll("RECV " + step + " " + length);
      awaitAll("WAITING");
      long start = System.nanoTime();
      outgoing.clear().limit(4 * length);
      outgoing.asFloatBuffer().put(p, 0, length);
      ByteBuffer[] views = new ByteBuffer[count];
      for (int i = 0; i < count; i++) {
        views[i] = outgoing.duplicate();
        keys[i].interestOps(SelectionKey.OP_WRITE);
      }
      int open = count;
      while (open > 0) {
        selector.select();
        for (SelectionKey key : selector.selectedKeys()) {
          int index = (Integer) key.attachment();
          channels[index].write(views[index]);
          if (!views[index].hasRemaining()) {
            key.interestOps(0);
            open--;
          }
        }
        selector.selectedKeys().clear();
      }
      List<String> got = awaitAll("GOT");
      long elapsed = System.nanoTime() - start;
      checkReceived(got, p, step);
      return elapsed / 1e9;
    }

    @Override
    public void close() throws IOException {
      try {
        super.close();
      } finally {
        for (SocketChannel channel : channels) {
          if (channel != null) {
            channel.close();
          }
        }
        selector.close();
        server.close();
      }
    }
  }
}
