package dev.lorafleet.worker.cluster;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.util.Pool;
import dev.lorafleet.common.protocol.KryoRegistrar;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.JSerializer;

/**
 * Pekko serializer for everything on our control plane: Kryo with registration required (the ids
 * come from {@link KryoRegistrar}, plus the two envelopes and typed actor references here), and
 * every declared array, list and string length bounded. A frame naming an unregistered class, or
 * declaring more elements than it can hold, is refused before anything is allocated.
 */
public final class KryoPekkoSerializer extends JSerializer {
  /** Unique among the serializers of the actor system. */
  public static final int IDENTIFIER = 741_001;

  private static final int MAX_FRAME_BYTES = 8 * 1024 * 1024;
  private static final String ACTOR_REF_ADAPTER =
      "org.apache.pekko.actor.typed.internal.adapter.ActorRefAdapter";

  private final ExtendedActorSystem system;
  private volatile ActorRefResolver resolver;
  private final Pool<Kryo> pool =
      new Pool<>(true, false, 16) {
        @Override
        protected Kryo create() {
          return newKryo();
        }
      };

  public KryoPekkoSerializer(ExtendedActorSystem system) {
    this.system = system;
  }

  /** Our Kryo: the protocol registrations plus the cluster envelopes and actor references. */
  Kryo newKryo() {
    Kryo kryo = KryoRegistrar.newKryo();
    try {
      kryo.register(Class.forName(ACTOR_REF_ADAPTER), new ActorRefSerializer(), 50);
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException("Pekko's typed ActorRef adapter class moved: " + e, e);
    }
    kryo.register(ClusterProtocol.ToWorker.class, 60);
    kryo.register(ClusterProtocol.ToCoordinator.class, 61);
    return kryo;
  }

  @Override
  public int identifier() {
    return IDENTIFIER;
  }

  @Override
  public boolean includeManifest() {
    return false;
  }

  @Override
  public byte[] toBinary(Object message) {
    Kryo kryo = pool.obtain();
    try {
      Output output = new Output(256, MAX_FRAME_BYTES);
      kryo.writeClassAndObject(output, message);
      return output.toBytes();
    } finally {
      pool.free(kryo);
    }
  }

  @Override
  public Object fromBinaryJava(byte[] bytes, Class<?> manifest) {
    Kryo kryo = pool.obtain();
    try {
      return kryo.readClassAndObject(new Input(bytes));
    } catch (KryoException | IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "refused a control-plane frame of " + bytes.length + " bytes: " + e.getMessage(), e);
    } finally {
      pool.free(kryo);
    }
  }

  private ActorRefResolver resolver() {
    ActorRefResolver r = resolver;
    if (r == null) {
      r = ActorRefResolver.get(Adapter.toTyped(system));
      resolver = r;
    }
    return r;
  }

  /** A typed actor reference travels as its serialization format (a path with address). */
  // Kryo registers classes, not generic types: the raw ActorRef is what it hands us
  @SuppressWarnings({"rawtypes", "unchecked"})
  private final class ActorRefSerializer extends Serializer<ActorRef> {
    ActorRefSerializer() {
      setImmutable(true);
    }

    @Override
    public void write(Kryo kryo, Output output, ActorRef ref) {
      kryo.writeObject(output, resolver().toSerializationFormat(ref));
    }

    @Override
    public ActorRef read(Kryo kryo, Input input, Class<? extends ActorRef> type) {
      return resolver().resolveActorRef(kryo.readObject(input, String.class));
    }
  }
}
