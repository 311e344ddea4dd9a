// A trailing window of the last `size` values kept sorted: its median and a robust spread after every
// change, in O(log size) plus one shift of the sorted array.
//
// The spread is max(1.4826 · MAD, 1.2533 · mean absolute deviation from the median): both estimate the
// standard deviation of normal data, and the second stays above zero on quantised series where more than
// half the values are equal (a flow meter reading 32, 32, 33, 32...), where the MAD alone is 0 and would
// turn every step into an outlier. The mean absolute deviation comes from the running sum of all values
// and of the lower half; the MAD is the middle deviation, picked from the two sorted runs of deviations
// on either side of the median.

export class SortedWindow {
  private readonly ring: Float64Array;
  private readonly s: Float64Array;
  private head = 0;
  private n = 0;
  /** Sum of all values, and of the lowest floor(n/2) (recomputed now and then against rounding). */
  private sum = 0;
  private lowSum = 0;
  private changes = 0;

  constructor(readonly size: number) {
    this.ring = new Float64Array(size);
    this.s = new Float64Array(size);
  }

  get length(): number {
    return this.n;
  }

  clear(): void {
    this.head = this.n = this.sum = this.lowSum = this.changes = 0;
  }

  /** Adds a value, dropping the oldest once the window is full. */
  push(v: number): void {
    if (this.n === this.size) {
      const old = this.ring[this.head] as number;
      this.ring[this.head] = v;
      this.head = (this.head + 1) % this.size;
      this.replace(old, v);
    } else {
      this.ring[(this.head + this.n) % this.size] = v;
      this.insert(v);
    }
    if (++this.changes >= 4 * this.size) this.resum();
  }

  median(): number {
    const s = this.s;
    const n = this.n;
    return ((s[(n - 1) >> 1] as number) + (s[n >> 1] as number)) / 2;
  }

  /** The robust spread around the median (see the top of the file); 0 for an empty or constant window. */
  spread(): number {
    const n = this.n;
    if (n === 0) return 0;
    const m = this.median();
    const h = n >> 1;
    // Lower half <= m <= upper half: sum |x - m| = (sum - lowSum - (n - h)·m) + (h·m - lowSum).
    const meanAbs = Math.max(0, this.sum - 2 * this.lowSum - (n - 2 * h) * m) / n;
    return Math.max(1.4826 * this.middleDeviation(m), 1.2533 * meanAbs);
  }

  /** The (n >> 1)-th smallest |x - m| (0-based), as numpy's partition picks it. */
  private middleDeviation(m: number): number {
    const s = this.s;
    const n = this.n;
    // The first index holding m or more: the middle one, unless values equal to m come before it.
    const h = n >> 1;
    const mid = h > 0 && (s[h - 1] as number) < m ? h : this.lowerBound(m, h);
    // a(i) = m - s[mid-1-i] (i < mid) and b(j) = s[mid+j] - m (j < n - mid), both non-decreasing.
    let na = mid;
    let nb = n - mid;
    let ai = 0;
    let bi = 0;
    let k = n >> 1;
    // k-th smallest of two sorted runs: drop about half of k from one run at a time.
    for (;;) {
      if (na === 0) return (s[mid + bi + k] as number) - m;
      if (nb === 0) return m - (s[mid - 1 - (ai + k)] as number);
      if (k === 0) return Math.min(m - (s[mid - 1 - ai] as number), (s[mid + bi] as number) - m);
      const take = Math.max(1, k >> 1);
      const ta = Math.min(take, na);
      const tb = Math.min(take, nb);
      if (m - (s[mid - ai - ta] as number) <= (s[mid + bi + tb - 1] as number) - m) {
        ai += ta;
        na -= ta;
        k -= ta;
      } else {
        bi += tb;
        nb -= tb;
        k -= tb;
      }
    }
  }

  private insert(v: number): void {
    const s = this.s;
    const n = this.n;
    const h = n >> 1;
    const p = this.lowerBound(v, n);
    s.copyWithin(p + 1, p, n);
    s[p] = v;
    this.n = n + 1;
    this.sum += v;
    // The lowest h values now include v when it landed among them, pushing out the one at h.
    if (p < h) this.lowSum += v - (s[h] as number);
    if ((n + 1) >> 1 > h) this.lowSum += s[h] as number;
  }

  /** Replaces `old` (in the window) by `v` with one shift of the values between their places. */
  private replace(old: number, v: number): void {
    const s = this.s;
    const h = this.n >> 1;
    const q = this.lowerBound(old, this.n);
    let p: number;
    if (v >= old) {
      p = Math.max(q, this.lowerBound(v, this.n) - 1);
      // Leaving the lower half for the upper one pulls the lowest upper value down.
      if (q < h) this.lowSum += (p >= h ? (s[h] as number) : v) - old;
      if (p > q) s.copyWithin(q, q + 1, p + 1);
    } else {
      p = this.lowerBound(v, q);
      // Entering the lower half from the upper one pushes its highest value up.
      if (q < h) this.lowSum += v - old;
      else if (p < h) this.lowSum += v - (s[h - 1] as number);
      if (q > p) s.copyWithin(p + 1, p, q);
    }
    s[p] = v;
    this.sum += v - old;
  }

  private resum(): void {
    this.changes = 0;
    let all = 0;
    let low = 0;
    const h = this.n >> 1;
    for (let i = 0; i < this.n; i++) {
      all += this.s[i] as number;
      if (i < h) low += this.s[i] as number;
    }
    this.sum = all;
    this.lowSum = low;
  }

  /** First index in s[0, end) whose value is >= v. */
  private lowerBound(v: number, end: number): number {
    const s = this.s;
    let lo = 0;
    let hi = end;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((s[mid] as number) < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
