/** Parses a SigV4 yyyymmddThhmmssZ strictly (round-trip checked, so 20250231T… is refused). */
export function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return date.toISOString().replace(/[-:]|\.\d{3}/g, '') === value ? date : undefined;
}
