package dev.lorafleet.worker.data.jinja;

import java.util.AbstractList;
import java.util.List;
import java.util.RandomAccess;

/** A Python tuple: an immutable list that prints with parentheses. */
final class PyTuple extends AbstractList<Object> implements RandomAccess {
  private final Object[] items;

  PyTuple(Object... items) {
    this.items = items.clone();
  }

  PyTuple(List<?> items) {
    this.items = items.toArray();
  }

  @Override
  public Object get(int index) {
    return items[index];
  }

  @Override
  public int size() {
    return items.length;
  }
}
