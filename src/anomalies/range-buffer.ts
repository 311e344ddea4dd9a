// The readings of one series in the range, held for methods that judge each against the whole range.

export class RangeBuffer {
  private times = new Float64Array(256);
  private values = new Float64Array(256);
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

  sortedValues(): Float64Array {
    return this.values.slice(0, this.length).sort();
  }

  forEach(fn: (time: number, value: number) => void): void {
    for (let i = 0; i < this.length; i++) fn(this.times[i] as number, this.values[i] as number);
  }
}

/** PostgreSQL's percentile_cont: linear interpolation between the two nearest ranks of sorted values. */
export function quantile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return NaN;
  const pos = fraction * (sorted.length - 1);
  const lo = Math.floor(pos);
  const a = sorted[lo] as number;
  const b = (sorted[Math.min(lo + 1, sorted.length - 1)] as number) ?? a;
  return a + (pos - lo) * (b - a);
}
