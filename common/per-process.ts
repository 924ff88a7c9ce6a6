/**
 * One instance per key for the whole process: the timers that many connections share
 * (common/write-batcher.ts, common/shared-interval.ts) exist once per interval, however many use them.
 */
export function perProcess<K, V>(make: (key: K) => V): (key: K) => V {
  const made = new Map<K, V>();
  return (key) => {
    let value = made.get(key);
    if (value === undefined) {
      value = make(key);
      made.set(key, value);
    }
    return value;
  };
}
