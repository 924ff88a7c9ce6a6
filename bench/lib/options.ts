/** Command-line option values for the benchmarks, checked with an error that names the option. */

/** `value` of option `--name` as a positive number; throws naming the option otherwise. */
export function positiveNumber(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got "${value}"`);
  return n;
}
