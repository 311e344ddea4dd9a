// The statistics of `query profile` and `query corr`, as pure functions: quantiles as PostgreSQL's
// percentile_cont computes them, and Pearson's r of two bucket series shifted against each other.

/** The p-quantile of ascending `sorted` values, interpolated between closest ranks (percentile_cont). */
export function quantile(sorted: ArrayLike<number>, p: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const pos = p * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  return lo === hi ? a : a + (pos - lo) * ((sorted[hi] as number) - a);
}

/** Fewer aligned buckets than this give no r (two points always lie on a line). */
export const MIN_ALIGNED = 3;

export interface Correlation {
  /** Pearson's r; null below MIN_ALIGNED aligned buckets or when either side is constant. */
  r: number | null;
  /** Buckets where both sides have a value. */
  n: number;
}

/**
 * Pearson's r of a[i] against b[i + lag] over the indexes where both are numbers (NaN: no bucket), in two
 * passes (the means first), so a large offset costs no precision.
 */
export function laggedPearson(a: Float64Array, b: Float64Array, lag: number): Correlation {
  const from = Math.max(0, -lag);
  const to = Math.min(a.length, b.length - lag);
  let n = 0;
  let sa = 0;
  let sb = 0;
  for (let i = from; i < to; i++) {
    const x = a[i] as number;
    const y = b[i + lag] as number;
    if (Number.isNaN(x) || Number.isNaN(y)) continue;
    n++;
    sa += x;
    sb += y;
  }
  if (n < MIN_ALIGNED) return { r: null, n };
  const ma = sa / n;
  const mb = sb / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = from; i < to; i++) {
    const x = (a[i] as number) - ma;
    const y = (b[i + lag] as number) - mb;
    if (Number.isNaN(x) || Number.isNaN(y)) continue;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  if (saa === 0 || sbb === 0) return { r: null, n };
  return { r: Math.max(-1, Math.min(1, sab / Math.sqrt(saa * sbb))), n };
}

export interface LagSearch {
  /** At lag 0. */
  zero: Correlation;
  /** The lag (in buckets) with the largest |r|; null when no lag has an r. */
  lag: number | null;
  best: Correlation;
}

/**
 * r at every lag from -maxLag to maxLag buckets; the best is the largest |r|, the smaller |lag| on a tie
 * (then the positive one), so a lag is reported only when it correlates better than no lag.
 */
export function bestLag(a: Float64Array, b: Float64Array, maxLag: number): LagSearch {
  const zero = laggedPearson(a, b, 0);
  let lag: number | null = zero.r === null ? null : 0;
  let best = zero;
  for (let k = 1; k <= maxLag; k++) {
    for (const l of [k, -k]) {
      const c = laggedPearson(a, b, l);
      if (c.r === null) continue;
      if (best.r === null || Math.abs(c.r) > Math.abs(best.r) + 1e-12) {
        best = c;
        lag = l;
      }
    }
  }
  return { zero, lag, best: lag === null ? { r: null, n: 0 } : best };
}
