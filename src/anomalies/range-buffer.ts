// The readings of one series in the range, held for methods that judge each against the whole range,
// and the order statistics they need (quantiles as PostgreSQL's percentile_cont picks them), found by
// selection in O(n) rather than by sorting.

export class RangeBuffer {
  times = new Float64Array(256);
  values = new Float64Array(256);
  length = 0;

  push(time: number, value: number): void {
    if (this.length === this.times.length) {
      const t = new Float64Array(this.length * 2);
      const v = new Float64Array(this.length * 2);
      t.set(this.times);
      v.set(this.values);
      this.times = t;
      this.values = v;
    }
    this.times[this.length] = time;
    this.values[this.length++] = value;
  }

  /** A copy of the values, to reorder (quantiles reorder their input). */
  valuesCopy(): Float64Array {
    return this.values.slice(0, this.length);
  }
}

/**
 * PostgreSQL's percentile_cont over `a` (linear interpolation between the two nearest ranks); reorders
 * `a`. NaN for an empty array. The values must not be NaN (readings never are); -0 and 0 count as equal,
 * so where a sort would pick -0 this may give 0.
 */
export function quantile(a: Float64Array, fraction: number): number {
  const n = a.length;
  if (n === 0) return NaN;
  const pos = fraction * (n - 1);
  const lo = Math.floor(pos);
  const x = select(a, lo);
  // After select, everything past lo is >= a[lo]: the next rank is their minimum.
  let y = lo + 1 < n ? Infinity : x;
  for (let i = lo + 1; i < n; i++) if ((a[i] as number) < y) y = a[i] as number;
  return x + (pos - lo) * (y - x);
}

/**
 * Puts the k-th smallest value (0-based) of a[0, n) at a[k], the smaller ones before it and the larger after
 * it, and returns it (quickselect: median-of-three pivots, Hoare partitions, which split runs of equal
 * values evenly, so a quantised series costs no more than any other).
 */
export function select(a: Float64Array, k: number, n = a.length): number {
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    if (hi - lo < 16) {
      // Insertion sort of a short range.
      for (let i = lo + 1; i <= hi; i++) {
        const v = a[i] as number;
        let j = i - 1;
        while (j >= lo && (a[j] as number) > v) {
          a[j + 1] = a[j] as number;
          j--;
        }
        a[j + 1] = v;
      }
      break;
    }
    const mid = (lo + hi) >> 1;
    // Median of a[lo], a[mid], a[hi] as the pivot.
    let p0 = a[lo] as number;
    let p1 = a[mid] as number;
    let p2 = a[hi] as number;
    let t: number;
    if (p0 > p1) {
      t = p0;
      p0 = p1;
      p1 = t;
    }
    if (p1 > p2) {
      t = p1;
      p1 = p2;
      p2 = t;
      if (p0 > p1) {
        t = p0;
        p0 = p1;
        p1 = t;
      }
    }
    const pivot = p1;
    let i = lo - 1;
    let j = hi + 1;
    for (;;) {
      do i++;
      while ((a[i] as number) < pivot);
      do j--;
      while ((a[j] as number) > pivot);
      if (i >= j) break;
      t = a[i] as number;
      a[i] = a[j] as number;
      a[j] = t;
    }
    // a[lo..j] <= pivot <= a[j+1..hi]
    if (k <= j) hi = j;
    else lo = j + 1;
  }
  return a[k] as number;
}
