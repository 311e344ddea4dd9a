// quantile and select (the order statistics mad and iqr judge the range by) against sorting: the same
// value at every rank and fraction, on random, quantised, constant, sorted and reversed arrays.
import { describe, expect, it } from 'vitest';
import { quantile, select } from '../../src/anomalies/range-buffer.js';

function uniforms(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

/** percentile_cont by sorting, as the methods computed it before selection. */
function sortedQuantile(a: Float64Array, fraction: number): number {
  const s = a.slice().sort();
  const pos = fraction * (s.length - 1);
  const lo = Math.floor(pos);
  const x = s[lo] as number;
  const y = s[Math.min(lo + 1, s.length - 1)] as number;
  return x + (pos - lo) * (y - x);
}

const u = uniforms(42);
const shapes: Record<string, (n: number) => Float64Array> = {
  random: (n) => Float64Array.from({ length: n }, () => 100 * u() - 50),
  quantised: (n) => Float64Array.from({ length: n }, () => Math.round(3 * u())),
  constant: (n) => new Float64Array(n).fill(7),
  sorted: (n) => Float64Array.from({ length: n }, (_, i) => i / 3),
  reversed: (n) => Float64Array.from({ length: n }, (_, i) => -i),
};

describe.each(Object.entries(shapes))('on %s arrays', (_name, make) => {
  it.each([1, 2, 3, 15, 16, 17, 100, 1001])('picks every quantile a sort picks (n = %i)', (n) => {
    const a = make(n);
    for (const f of [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1])
      expect(quantile(a.slice(), f)).toBe(sortedQuantile(a, f));
  });

  it('puts the k-th smallest at k, smaller before and larger after', () => {
    const a = make(257);
    const s = a.slice().sort();
    for (const k of [0, 1, 128, 200, 256]) {
      const b = a.slice();
      expect(select(b, k) === s[k]).toBe(true);
      for (let i = 0; i < k; i++) expect(b[i]).toBeLessThanOrEqual(b[k] as number);
      for (let i = k + 1; i < b.length; i++) expect(b[i]).toBeGreaterThanOrEqual(b[k] as number);
    }
  });
});

it('quantile of nothing is NaN', () => {
  expect(quantile(new Float64Array(0), 0.5)).toBeNaN();
});
