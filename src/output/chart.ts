// Terminal charts without dependencies: a one-line sparkline and a multi-line line chart.
import { formatCell } from './render.js';

const BARS = '▁▂▃▄▅▆▇█';

/** The lowest and highest non-null value (a loop: spreading a large array into Math.min overflows the stack). */
export function extent(values: Iterable<number | null>): { lo: number; hi: number } | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v === null) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? { lo, hi } : null;
}

/** One character per value (nulls as spaces); at most `width` characters, averaging values that share one. */
export function sparkline(values: Array<number | null>, width = 24): string {
  const cols = resample(values, width);
  const range = extent(cols);
  if (!range) return '';
  const { lo, hi } = range;
  return cols
    .map((v) => {
      if (v === null) return ' ';
      const idx = hi === lo ? 3 : Math.round(((v - lo) / (hi - lo)) * (BARS.length - 1));
      return BARS[idx];
    })
    .join('');
}

function resample(values: Array<number | null>, width: number): Array<number | null> {
  if (values.length <= width) return values;
  const out: Array<number | null> = [];
  for (let c = 0; c < width; c++) {
    const from = Math.floor((c * values.length) / width);
    const to = Math.max(Math.floor(((c + 1) * values.length) / width), from + 1);
    let sum = 0;
    let n = 0;
    for (let i = from; i < to; i++) {
      const v = values[i];
      if (v === null || v === undefined) continue;
      sum += v;
      n++;
    }
    out.push(n ? sum / n : null);
  }
  return out;
}

export interface ChartPoint {
  t: number;
  v: number;
}

/**
 * A line chart of one series: y axis labels on the left, time along the bottom. Each column holds the
 * points whose time falls into it; `│` joins a column to the next so steps and spikes stay visible.
 */
export function lineChart(
  points: ChartPoint[],
  opts: { width?: number; height?: number; title?: string } = {},
): string {
  const width = Math.max(10, opts.width ?? 60);
  const height = Math.max(3, opts.height ?? 10);
  const lines: string[] = opts.title ? [opts.title] : [];
  if (points.length === 0) return [...lines, '(no data)'].join('\n');
  const t0 = points[0]!.t;
  const t1 = points[points.length - 1]!.t;
  const col = (t: number) =>
    t1 === t0 ? 0 : Math.min(width - 1, Math.floor(((t - t0) / (t1 - t0)) * width));
  // Downsampled to the chart width first: each column keeps only its lowest and highest value, so any
  // number of points costs one pass and `width` columns.
  const columns: Array<{ lo: number; hi: number } | null> = Array<{ lo: number; hi: number } | null>(
    width,
  ).fill(null);
  for (const p of points) {
    const c = columns[col(p.t)];
    if (!c) columns[col(p.t)] = { lo: p.v, hi: p.v };
    else if (p.v < c.lo) c.lo = p.v;
    else if (p.v > c.hi) c.hi = p.v;
  }
  const range = extent(columns.flatMap((c) => (c ? [c.lo, c.hi] : [])))!;
  let { lo, hi } = range;
  if (hi === lo) {
    lo -= 1;
    hi += 1;
  }
  const row = (v: number) => Math.round(((hi - v) / (hi - lo)) * (height - 1));
  const cells: string[][] = Array.from({ length: height }, () => Array<string>(width).fill(' '));
  // A column's rows: the highest value is the smallest row number.
  const spans = columns.map((c): [number, number] | null => (c ? [row(c.hi), row(c.lo)] : null));
  let prev: { col: number; span: [number, number] } | null = null;
  for (let c = 0; c < width; c++) {
    const s = spans[c];
    if (!s) continue;
    if (prev && c === prev.col + 1) {
      // Join to the previous column so a jump is drawn as a vertical line, not two isolated dots.
      const top = Math.min(s[0], prev.span[1]);
      const bottom = Math.max(s[1], prev.span[0]);
      for (let r = top; r <= bottom; r++) cells[r]![c] = '│';
    } else if (prev) {
      // Sparse points (few buckets): a dotted straight line between them.
      const from = prev.span[0];
      for (let k = prev.col + 1; k < c; k++) {
        cells[Math.round(from + ((s[0] - from) * (k - prev.col)) / (c - prev.col))]![k] = '·';
      }
    }
    for (let r = s[0]; r <= s[1]; r++) cells[r]![c] = '•';
    prev = { col: c, span: s };
  }
  const labels = Array.from({ length: height }, (_, r) =>
    formatCell(Number((hi - ((hi - lo) * r) / (height - 1)).toPrecision(4))),
  );
  const labelWidth = Math.max(...labels.map((l) => l.length));
  for (let r = 0; r < height; r++) lines.push(`${labels[r]!.padStart(labelWidth)} ┤${cells[r]!.join('')}`);
  const start = new Date(t0).toISOString().replace(':00.000Z', 'Z');
  const end = new Date(t1).toISOString().replace(':00.000Z', 'Z');
  lines.push(`${' '.repeat(labelWidth)} └${'─'.repeat(width)}`);
  lines.push(
    `${' '.repeat(labelWidth)}  ${start}${end.padStart(Math.max(end.length + 1, width - start.length))}`,
  );
  return lines.join('\n');
}
