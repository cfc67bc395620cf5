package dev.lorafleet.coordinator.cli;

import dev.lorafleet.common.transport.DataPlaneConfig;
import dev.lorafleet.common.transport.DataPlaneEndpoints;
import dev.lorafleet.common.wire.WireDtype;
import dev.lorafleet.worker.transport.AdapterParameters;
import dev.lorafleet.worker.transport.WorkerDataPlane;
import io.aeron.driver.ThreadingMode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * One sender process of {@code lorafleet bench transport}: plays a worker that sends its gradient
 * and receives parameters, over Aeron ({@link WorkerDataPlane}) or over plain NIO TCP. Driven by
 * the bench through stdin; answers on stdout with lines starting {@code @@}.
 */
final class TransportBenchSender {
  static final String REPLY = "@@ ";

  private TransportBenchSender() {}

  /** The value every sender {@code index} puts at element {@code i} (the bench checks sums). */
  static float value(int index, int i) {
    return ((i % 1021) - 510) * 1e-3f * (index + 1);
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> options = new HashMap<>();
    for (String arg : args) {
      int eq = arg.indexOf('=');
      options.put(arg.substring(2, eq), arg.substring(eq + 1));
    }
    int index = Integer.parseInt(options.get("index"));
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    Map<Integer, float[]> vectors = new HashMap<>();
    if (options.get("mode").equals("tcp")) {
      runTcp(Integer.parseInt(options.get("port")), index, vectors, in, out);
    } else {
      runAeron(options, index, vectors, in, out);
    }
  }

  private static float[] vector(Map<Integer, float[]> vectors, int index, int length) {
    return vectors.computeIfAbsent(
        length,
        n -> {
          float[] v = new float[n];
          for (int i = 0; i < n; i++) {
            v[i] = value(index, i);
          }
          return v;
        });
  }

  private static void runAeron(
      Map<String, String> options,
      int index,
      Map<Integer, float[]> vectors,
      BufferedReader in,
      PrintStream out)
      throws IOException, InterruptedException {
    DataPlaneConfig config =
        DataPlaneConfig.defaults()
            .withTermLength(Integer.parseInt(options.get("term-length")))
            .withMtu(Integer.parseInt(options.get("mtu")))
            .withSocketBufferBytes(Integer.parseInt(options.get("socket-buffer")))
            .withChunkBytes(Integer.parseInt(options.get("chunk-bytes")))
            .withThreadingMode(ThreadingMode.valueOf(options.get("threading-mode")))
            .withDriverDirectoryParent(Path.of(options.get("driver-dir")))
            .withSendTimeout(Duration.ofSeconds(60));
    try (WorkerDataPlane dataPlane =
        WorkerDataPlane.connect(
            DataPlaneEndpoints.parse(options.get("endpoints")), "sender-" + index, config)) {
      long connectDeadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (!dataPlane.isConnected() && System.nanoTime() - connectDeadline < 0) {
        Thread.sleep(1); // so that every sender hears the first broadcast
      }
      out.println(REPLY + "READY");
      String line;
      while ((line = in.readLine()) != null) {
        String[] words = line.split(" ");
        switch (words[0]) {
          case "GATHER" -> {
            long step = Long.parseLong(words[1]);
            int length = Integer.parseInt(words[2]);
            dataPlane.sendGradient(
                "bench", step, vector(vectors, index, length), length, 1.0, WireDtype.FP32);
            out.println(REPLY + "SENT");
          }
          case "RECV" -> {
            long step = Long.parseLong(words[1]);
            out.println(REPLY + "WAITING");
            AdapterParameters p = dataPlane.awaitParameters("bench", step, Duration.ofSeconds(120));
            out.println(REPLY + "GOT " + p.step() + " " + samples(p.values(), p.values().length));
          }
          case "EXIT" -> {
            return;
          }
          default -> throw new IllegalArgumentException("unknown bench command: " + line);
        }
      }
    }
  }

  /** Raw bits of the first, middle and last element: what the bench compares. */
  static String samples(float[] values, int length) {
    return Float.floatToRawIntBits(values[0])
        + " "
        + Float.floatToRawIntBits(values[length / 2])
        + " "
        + Float.floatToRawIntBits(values[length - 1]);
  }

  private static void runTcp(
      int port, int index, Map<Integer, float[]> vectors, BufferedReader in, PrintStream out)
      throws IOException {
    try (SocketChannel channel = SocketChannel.open()) {
      channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
      channel.setOption(StandardSocketOptions.SO_SNDBUF, 4 << 20);
      channel.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
      channel.connect(new InetSocketAddress("127.0.0.1", port));
      ByteBuffer hello = ByteBuffer.allocate(4).putInt(0, index);
      while (hello.hasRemaining()) {
        channel.write(hello);
      }
      ByteBuffer buffer = ByteBuffer.allocateDirect(0).order(ByteOrder.LITTLE_ENDIAN);
      float[] received = new float[0];
      out.println(REPLY + "READY");
      String line;
      while ((line = in.readLine()) != null) {
        String[] words = line.split(" ");
        int length = words.length > 2 ? Integer.parseInt(words[2]) : 0;
        if (buffer.capacity() < 4L * length) {
          buffer = ByteBuffer.allocateDirect(4 * length).order(ByteOrder.LITTLE_ENDIAN);
        }
        switch (words[0]) {
          case "GATHER" -> {
            buffer.clear().limit(4 * length);
            buffer.asFloatBuffer().put(vector(vectors, index, length), 0, length);
            while (buffer.hasRemaining()) {
              channel.write(buffer);
            }
            out.println(REPLY + "SENT");
          }
          case "RECV" -> {
            out.println(REPLY + "WAITING");
            buffer.clear().limit(4 * length);
            while (buffer.hasRemaining()) {
              if (channel.read(buffer) < 0) {
                throw new IOException("the bench closed the connection");
              }
            }
            if (received.length != length) {
              received = new float[length];
            }
            buffer.flip();
            buffer.asFloatBuffer().get(received);
            out.println(REPLY + "GOT " + words[1] + " " + samples(received, length));
          }
          case "EXIT" -> {
            return;
          }
          default -> throw new IllegalArgumentException("unknown bench command: " + line);
        }
      }
    }
  }
}
