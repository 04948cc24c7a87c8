// Output comparison of the golden tests: exact bytes, or float32 within 1e-5 relative.

/** undefined when equal enough, else a sentence saying how they differ. */
export function compareOutput(got: Uint8Array, want: Uint8Array, dtype: string): string | undefined {
  if (got.length !== want.length) return `${got.length} bytes, expected ${want.length}`;
  if (dtype === 'float32') {
    // copy first: a Node Buffer may be a view into a shared pool at any offset
    const g = new Float32Array(new Uint8Array(got).buffer);
    const w = new Float32Array(new Uint8Array(want).buffer);
    let bad = 0;
    let worst = 0;
    for (let i = 0; i < g.length; i++) {
      const err = Math.abs(g[i] - w[i]);
      if (!(err <= 1e-5 * Math.abs(w[i]) + 1e-7)) {
        bad++;
        worst = Math.max(worst, err);
      }
    }
    return bad ? `${bad} of ${g.length} floats beyond 1e-5 relative (worst abs error ${worst})` : undefined;
  }
  let diff = 0;
  for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) diff++;
  return diff ? `${diff} of ${got.length} bytes differ` : undefined;
}
