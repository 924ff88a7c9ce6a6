/**
 * Process totals of figures kept by things that come and go (deliveries to players, client
 * connections, recorders): the live ones are read when a total is asked for, and each one adds its
 * final figures when it closes. So a total only grows, and the things themselves keep counting only
 * their own figures, as they already do: nothing more is done per packet.
 */
export class RunningTotals<T, K extends string> {
  readonly #fields: readonly K[];
  readonly #read: (item: T) => Readonly<Record<K, number>>;
  readonly #live = new Set<T>();
  readonly #closed: Record<K, number>;

  constructor(fields: readonly K[], read: (item: T) => Readonly<Record<K, number>>) {
    this.#fields = fields;
    this.#read = read;
    this.#closed = Object.fromEntries(fields.map((field) => [field, 0])) as Record<K, number>;
  }

  /** How many are open now. */
  get live(): number { return this.#live.size; }

  open(item: T): void {
    this.#live.add(item);
  }

  /** Adds its final figures to the totals; closing twice (or something never opened) adds nothing. */
  close(item: T): void {
    if (!this.#live.delete(item)) return;
    const figures = this.#read(item);
    for (const field of this.#fields) this.#closed[field] += figures[field];
  }

  /** Everything counted so far: the closed ones' final figures plus the live ones' figures now. */
  totals(): Record<K, number> {
    const sums = { ...this.#closed };
    for (const item of this.#live) {
      const figures = this.#read(item);
      for (const field of this.#fields) sums[field] += figures[field];
    }
    return sums;
  }

  /** The live ones, to count those in some state (e.g. recorders that have not failed). */
  liveItems(): IterableIterator<T> {
    return this.#live.values();
  }
}
