// The benches' numeric knobs (BENCH_SECONDS and friends): unset or empty means the default.

/** A positive whole number from the environment; anything else stops the bench with a message naming it. */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[1-9]\d*$/.test(raw)) throw new Error(`${name} must be a positive whole number, got "${raw}"`);
  return Number(raw);
}
