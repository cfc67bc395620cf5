package dev.lorafleet.common.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import java.util.List;
import org.junit.jupiter.api.Test;

class KryoRegistrarTest {
  private final Kryo kryo = KryoRegistrar.newKryo();

  private byte[] write(Object value) {
    Output output = new Output(256, -1);
    kryo.writeClassAndObject(output, value);
    return output.toBytes();
  }

  private Object read(byte[] bytes) {
    return kryo.readClassAndObject(new Input(bytes));
  }

  @Test
  void roundTripsEveryProtocolRecord() {
    WorkerInfo info = new WorkerInfo("node-a-1", "node-a", 8, "cuda", "10.0.0.5:40123");
    assertThat(read(write(info))).isEqualTo(info);

    JobAssignment assignment =
        new JobAssignment(
            "job-1",
            "name: x\n",
            "/models/tiny",
            List.of(new DatasetRef("a.jsonl", "ab12", 10), new DatasetRef("b.jsonl", "cd34", 20)),
            List.of());
    assertThat(read(write(assignment))).isEqualTo(assignment);

    StepAssignment step = new StepAssignment("job-1", 7, 1, 3, new int[] {5, 1, 9}, 42L);
    StepAssignment back = (StepAssignment) read(write(step));
    assertThat(back.exampleIndices()).containsExactly(5, 1, 9);
    assertThat(back.step()).isEqualTo(7);
    assertThat(back.membershipEpoch()).isEqualTo(3);
    assertThat(back.stepSeed()).isEqualTo(42L);

    DatasetChunk chunk = new DatasetChunk("ab12", 4, new byte[] {1, 2, 3}, 7, null);
    DatasetChunk chunkBack = (DatasetChunk) read(write(chunk));
    assertThat(chunkBack.bytes()).containsExactly(1, 2, 3);
    assertThat(chunkBack.error()).isNull();

    EvalResult result = new EvalResult("job-1", 3, "w", 1, 2.5, 10, 4, null);
    assertThat(read(write(result))).isEqualTo(result);
  }

  @Test
  void refusesToWriteUnregisteredClass() {
    record Sneaky(String command) {}
    assertThatThrownBy(() -> write(new Sneaky("rm -rf /")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not registered");
  }

  @Test
  void refusesToReadFrameNamingUnregisteredClass() {
    // A frame written by a Kryo that knows an extra class, read by ours.
    Kryo permissive = KryoRegistrar.newKryo();
    permissive.register(java.util.HashMap.class, 999);
    Output output = new Output(64, -1);
    permissive.writeClassAndObject(output, new java.util.HashMap<String, String>());
    byte[] frame = output.toBytes();
    assertThatThrownBy(() -> read(frame))
        .isInstanceOf(KryoException.class)
        .hasMessageContaining("999");
  }

  @Test
  void refusesFrameDeclaringTwoToTheThirtyFirstElementArray() {
    Output output = new Output(64, -1);
    output.writeVarInt(21 + 2, true); // class id of int[] (Kryo writes id + 2)
    output.writeVarInt(Integer.MIN_VALUE, true); // declared length + 1 = 2^31
    byte[] frame = output.toBytes();
    assertThatThrownBy(() -> read(frame))
        .isInstanceOf(KryoException.class)
        .hasMessageContaining("2147483647-element int array");
  }

  @Test
  void refusesLengthLargerThanTheFrame() {
    Output output = new Output(64, -1);
    output.writeVarInt(20 + 2, true); // byte[]
    output.writeVarInt(1_000_001, true); // claims a million bytes, frame holds none
    byte[] frame = output.toBytes();
    assertThatThrownBy(() -> read(frame))
        .isInstanceOf(KryoException.class)
        .hasMessageContaining("1000000-element byte array");
  }

  @Test
  void refusesHugeStringInsideRecord() {
    Output output = new Output(64, -1);
    output.writeVarInt(KryoRegistrar.FIRST_PROTOCOL_ID + 11 + 2, true); // StopJob
    output.writeVarInt(Integer.MAX_VALUE, true); // jobId claims ~2^31 bytes
    byte[] frame = output.toBytes();
    assertThatThrownBy(() -> read(frame))
        .isInstanceOf(KryoException.class)
        .hasMessageContaining("string");
  }
}
