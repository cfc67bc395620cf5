package dev.lorafleet.worker.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.esotericsoftware.kryo.io.Output;
import com.typesafe.config.ConfigValueFactory;
import dev.lorafleet.common.protocol.StepAssignment;
import dev.lorafleet.common.protocol.WorkerInfo;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class KryoPekkoSerializerTest {
  private static final ActorTestKit KIT =
      ActorTestKit.create(
          // our serializer bindings, without joining a cluster
          ClusterConfig.worker("127.0.0.1", 0, "127.0.0.1", 1)
              .withValue("pekko.actor.provider", ConfigValueFactory.fromAnyRef("local")));
  private final KryoPekkoSerializer serializer =
      new KryoPekkoSerializer((ExtendedActorSystem) Adapter.toClassic(KIT.system()));

  @AfterAll
  static void stop() {
    KIT.shutdownTestKit();
  }

  /** A control message nobody registered. */
  private record Unregistered(String payload) implements ClusterMessage {}

  @Test
  void roundTripsEnvelopesWithActorReferences() {
    TestProbe<WorkerNode.Command> probe = KIT.createTestProbe();
    ClusterProtocol.ToCoordinator message =
        new ClusterProtocol.ToCoordinator(
            new WorkerInfo("w-1", "node-a", 8, "cuda", "10.0.0.2"), probe.getRef());
    Object back = serializer.fromBinary(serializer.toBinary(message));
    assertThat(back).isEqualTo(message);
    StepAssignment step = new StepAssignment("j", 3, 1, 2, new int[] {4, 5}, 9L);
    ClusterProtocol.ToWorker toWorker = new ClusterProtocol.ToWorker(step);
    ClusterProtocol.ToWorker backStep =
        (ClusterProtocol.ToWorker) serializer.fromBinary(serializer.toBinary(toWorker));
    assertThat(((StepAssignment) backStep.message()).exampleIndices()).containsExactly(4, 5);
  }

  @Test
  void isTheSerializerBoundToControlMessages() {
    var extension = SerializationExtension.get(Adapter.toClassic(KIT.system()));
    assertThat(extension.findSerializerFor(new ClusterProtocol.ToWorker(null)).identifier())
        .isEqualTo(KryoPekkoSerializer.IDENTIFIER);
    assertThat(
            extension
                .findSerializerFor(new WorkerInfo("w", "n", 1, "cpu", "127.0.0.1"))
                .identifier())
        .isEqualTo(KryoPekkoSerializer.IDENTIFIER);
  }

  @Test
  void refusesToSerializeAnUnregisteredClass() {
    assertThatThrownBy(() -> serializer.toBinary(new Unregistered("x")))
        .hasMessageContaining("not registered");
  }

  @Test
  void refusesAFrameNamingAnUnregisteredClassId() {
    Output output = new Output(16, -1);
    output.writeVarInt(4242 + 2, true);
    byte[] frame = output.toBytes();
    assertThatThrownBy(() -> serializer.fromBinary(frame))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("refused a control-plane frame");
  }

  @Test
  void refusesAFrameDeclaringATwoToTheThirtyOneElementArray() {
    Output output = new Output(16, -1);
    output.writeVarInt(60 + 2, true); // ToWorker
    output.writeVarInt(100 + 7 + 2, true); // StepAssignment
    // Kryo writes record components sorted by name: exampleIndices comes first
    output.writeVarInt(Integer.MIN_VALUE, true); // exampleIndices: 2^31 elements declared
    byte[] frame = output.toBytes();
    assertThatThrownBy(() -> serializer.fromBinary(frame))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("2147483647-element int array");
  }
}
