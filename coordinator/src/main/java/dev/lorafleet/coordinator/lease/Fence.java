package dev.lorafleet.coordinator.lease;

/**
 * What every write to the state directory asks first: does this coordinator still hold the lease?
 * Checkpoints, {@code report.json}, {@code events.jsonl} and {@code spec.yaml} are written only
 * after {@link #check()} passes, so a coordinator that lost its lease (a newer one took the state
 * directory over) cannot overwrite what the newer one wrote.
 */
public interface Fence {

  /** No lease at all: for tools and tests that own their directory outright. */
  Fence NONE =
      new Fence() {
        @Override
        public long token() {
          return 0;
        }

        @Override
        public void check() {}

        @Override
        public String toString() {
          return "no fence";
        }
      };

  /** The fencing token: greater than every earlier holder's ({@code 0} for {@link #NONE}). */
  long token();

  /**
   * Passes while this coordinator may write.
   *
   * @throws FencedOutException when another coordinator holds the state directory now, or this one
   *     cannot tell (its lease could not be confirmed): the write must not happen
   */
  void check() throws FencedOutException;
}
