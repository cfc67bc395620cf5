package dev.lorafleet.common.protocol;

import com.esotericsoftware.kryo.Kryo;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedList;
import java.util.List;

/**
 * Gives every control-plane class a fixed Kryo id. Both sides must register the same classes with
 * the same ids, so the list lives here once; append new classes at the end with a new id and never
 * reuse an id. Registration is required: a frame naming any other class is refused.
 */
public final class KryoRegistrar {
  /** The most elements any array, list or string in a frame may declare. */
  public static final int MAX_ELEMENTS = 16 * 1024 * 1024;

  /** Ids below this are Kryo's own (primitives, String) and reserved for the cluster layer. */
  public static final int FIRST_PROTOCOL_ID = 100;

  private KryoRegistrar() {}

  /** A fresh Kryo (not thread safe: one per thread or from a pool) with our registrations. */
  public static Kryo newKryo() {
    Kryo kryo = new Kryo();
    kryo.setRegistrationRequired(true);
    kryo.setReferences(false);
    register(kryo);
    return kryo;
  }

  /** Registers the bounded basic types and every protocol record on {@code kryo}. */
  public static void register(Kryo kryo) {
    kryo.setRegistrationRequired(true);
    // Kryo's built-in String (id 1) trusts the declared length; replace it with a bounded one.
    kryo.register(String.class, new BoundedSerializers.StringSerializer(MAX_ELEMENTS), 1);
    kryo.register(byte[].class, new BoundedSerializers.ByteArraySerializer(MAX_ELEMENTS), 20);
    kryo.register(int[].class, new BoundedSerializers.IntArraySerializer(MAX_ELEMENTS), 21);
    kryo.register(long[].class, new BoundedSerializers.LongArraySerializer(MAX_ELEMENTS), 22);
    kryo.register(float[].class, new BoundedSerializers.FloatArraySerializer(MAX_ELEMENTS), 23);
    kryo.register(double[].class, new BoundedSerializers.DoubleArraySerializer(MAX_ELEMENTS), 24);
    BoundedSerializers.ListSerializer lists = new BoundedSerializers.ListSerializer(MAX_ELEMENTS);
    kryo.register(List.of().getClass(), lists, 30);
    kryo.register(List.of(1).getClass(), lists, 31);
    kryo.register(List.of(1, 2, 3).getClass(), lists, 32);
    kryo.register(ArrayList.class, lists, 33);
    kryo.register(LinkedList.class, lists, 34);
    kryo.register(Collections.unmodifiableList(new ArrayList<>()).getClass(), lists, 35);
    kryo.register(Collections.emptyList().getClass(), lists, 36);

    int id = FIRST_PROTOCOL_ID;
    for (Class<?> type : PROTOCOL_CLASSES) {
      kryo.register(type, id++);
    }
  }

  /** In id order from {@link #FIRST_PROTOCOL_ID}; append only. */
  static final List<Class<?>> PROTOCOL_CLASSES =
      List.of(
          WorkerInfo.class,
          DatasetRef.class,
          JobAssignment.class,
          DatasetChunkRequest.class,
          DatasetChunk.class,
          JobPrepared.class,
          JobPrepareFailed.class,
          StepAssignment.class,
          StepFailed.class,
          EvalAssignment.class,
          EvalResult.class,
          StopJob.class,
          CoordinatorHello.class,
          InitialAdapterRequest.class,
          WorkerLeaving.class);
}
