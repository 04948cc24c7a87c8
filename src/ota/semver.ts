// Semantic versions (MAJOR.MINOR.PATCH with an optional pre-release), enough to
// order model versions and check a bundle's minimum engine version.
const SEMVER = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

export function isSemver(v: string): boolean {
  return v.length <= 64 && SEMVER.test(v);
}

/** Negative when a < b, 0 when equal, positive when a > b (build metadata is not accepted). */
export function compareSemver(a: string, b: string): number {
  const ma = SEMVER.exec(a);
  const mb = SEMVER.exec(b);
  if (!ma || !mb) throw new Error(`not a semantic version: ${!ma ? a : b}`);
  for (let i = 1; i <= 3; i++) {
    const d = Number(ma[i]) - Number(mb[i]);
    if (d) return d;
  }
  // a pre-release sorts before its release
  if (ma[4] === undefined || mb[4] === undefined) return (ma[4] === undefined ? 1 : 0) - (mb[4] === undefined ? 1 : 0);
  const pa = ma[4].split('.');
  const pb = mb[4].split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if (pa[i] === undefined) return -1;
    if (pb[i] === undefined) return 1;
    const na = /^\d+$/.test(pa[i]);
    const nb = /^\d+$/.test(pb[i]);
    if (na && nb) {
      const d = Number(pa[i]) - Number(pb[i]);
      if (d) return d;
    } else if (na !== nb) return na ? -1 : 1;
    else if (pa[i] !== pb[i]) return pa[i] < pb[i] ? -1 : 1;
  }
  return 0;
}
