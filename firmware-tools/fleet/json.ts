// Reports as JSON: an SQNR of -Infinity (the reference is all zeros, the other is not)
// is written as the string "-Infinity" so it does not turn into null, which means exact.
export function reportJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (v === -Infinity ? '-Infinity' : v), 2) + '\n';
}
