// Largest-Triangle-Three-Buckets downsampling (Steinarsson 2013): keeps the points that shape a line chart.

export interface XY {
  x: number;
  y: number;
}

/** Returns `threshold` points of `data` (sorted by x), always keeping the first and the last. */
export function lttb<T extends XY>(data: T[], threshold: number): T[] {
  if (threshold >= data.length || threshold <= 0) return data.slice();
  if (threshold === 1) return [data[0] as T];
  if (threshold === 2) return [data[0] as T, data[data.length - 1] as T];
  const out: T[] = [data[0] as T];
  const every = (data.length - 2) / (threshold - 2);
  let a = 0;
  for (let i = 0; i < threshold - 2; i++) {
    // The average of the next bucket is the third corner of the triangle.
    const nextStart = Math.floor((i + 1) * every) + 1;
    const nextEnd = Math.min(Math.floor((i + 2) * every) + 1, data.length);
    let avgX = 0;
    let avgY = 0;
    for (let j = nextStart; j < nextEnd; j++) {
      avgX += (data[j] as T).x;
      avgY += (data[j] as T).y;
    }
    const n = nextEnd - nextStart;
    avgX /= n;
    avgY /= n;
    const start = Math.floor(i * every) + 1;
    const end = Math.floor((i + 1) * every) + 1;
    const pa = data[a] as T;
    let best = -1;
    let bestIdx = start;
    for (let j = start; j < end; j++) {
      const p = data[j] as T;
      const area = Math.abs((pa.x - avgX) * (p.y - pa.y) - (pa.x - p.x) * (avgY - pa.y));
      if (area > best) {
        best = area;
        bestIdx = j;
      }
    }
    out.push(data[bestIdx] as T);
    a = bestIdx;
  }
  out.push(data[data.length - 1] as T);
  return out;
}
