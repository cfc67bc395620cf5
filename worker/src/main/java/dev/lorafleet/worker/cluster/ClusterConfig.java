package dev.lorafleet.worker.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;

/**
 * The Pekko configuration both roles share: cluster provider over Artery TCP, our Kryo serializer
 * for every control message (Java serialization stays off), the coordinator as the one seed node,
 * and a split brain resolver that keeps the oldest node (the coordinator) so a lost worker is
 * downed rather than the coordinator.
 */
public final class ClusterConfig {
  public static final String SYSTEM_NAME = "lorafleet";
  public static final int DEFAULT_CLUSTER_PORT = 25520;

  private ClusterConfig() {}

  /** Config for the coordinator: seed node of its own cluster at {@code host:port}. */
  public static Config coordinator(String host, int port) {
    return base(host, port, host, port, "coordinator");
  }

  /** Config for a worker binding {@code host} (port 0: any) and joining the seed. */
  public static Config worker(String host, int port, String seedHost, int seedPort) {
    return base(host, port, seedHost, seedPort, ClusterProtocol.WORKER_ROLE);
  }

  private static Config base(String host, int port, String seedHost, int seedPort, String role) {
    String loggers =
        slf4jPresent()
            ? "pekko.loggers = [\"org.apache.pekko.event.slf4j.Slf4jLogger\"]\n"
                + "pekko.logging-filter = \"org.apache.pekko.event.slf4j.Slf4jLoggingFilter\"\n"
            : "";
    String text =
        loggers
            + "pekko.loglevel = WARNING\n"
            + "pekko.stdout-loglevel = WARNING\n"
            + "pekko.log-dead-letters = off\n"
            + "pekko.log-dead-letters-during-shutdown = off\n"
            + "pekko.actor.provider = cluster\n"
            + "pekko.actor.allow-java-serialization = off\n"
            + "pekko.actor.serializers.lorafleet-kryo = \""
            + KryoPekkoSerializer.class.getName()
            + "\"\n"
            + "pekko.actor.serialization-bindings {\n"
            + "  \"dev.lorafleet.common.protocol.ControlMessage\" = lorafleet-kryo\n"
            + "  \""
            + ClusterMessage.class.getName()
            + "\" = lorafleet-kryo\n"
            + "}\n"
            + "pekko.remote.artery.transport = tcp\n"
            + "pekko.remote.artery.canonical.hostname = \""
            + host
            + "\"\n"
            + "pekko.remote.artery.canonical.port = "
            + port
            + "\n"
            + "pekko.cluster.seed-nodes = [\"pekko://"
            + SYSTEM_NAME
            + "@"
            + seedHost
            + ":"
            + seedPort
            + "\"]\n"
            + "pekko.cluster.roles = [\""
            + role
            + "\"]\n"
            + "pekko.cluster.jmx.enabled = off\n"
            + "pekko.cluster.log-info = off\n"
            + "pekko.cluster.downing-provider-class = "
            + "\"org.apache.pekko.cluster.sbr.SplitBrainResolverProvider\"\n"
            + "pekko.cluster.split-brain-resolver.active-strategy = keep-oldest\n"
            + "pekko.cluster.split-brain-resolver.keep-oldest.down-if-alone = off\n"
            + "pekko.cluster.split-brain-resolver.stable-after = 7s\n"
            + "pekko.coordinated-shutdown.exit-jvm = off\n"
            + "lorafleet.blocking-dispatcher {\n"
            + "  type = Dispatcher\n"
            + "  executor = thread-pool-executor\n"
            + "  thread-pool-executor.fixed-pool-size = 4\n"
            + "  throughput = 1\n"
            + "}\n";
    return ConfigFactory.parseString(text).withFallback(ConfigFactory.load());
  }

  private static boolean slf4jPresent() {
    try {
      Class.forName("org.apache.pekko.event.slf4j.Slf4jLogger");
      return true;
    } catch (ClassNotFoundException e) {
      return false;
    }
  }
}
