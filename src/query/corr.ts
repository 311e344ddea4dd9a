// `query corr`: Pearson's r between series over aligned buckets of agg's averages (rollups where they
// answer exactly), per metric pair of each device or per device pair of one metric, and the lag at
// which they correlate best.
import { usageError } from '../errors.js';
import type { Db } from '../db/types.js';
import type { Duration } from '../util/duration.js';
import { streamAgg } from './agg.js';
import type { Segment } from './plan.js';
import { bestLag, MIN_ALIGNED } from './stats.js';
import type { TimeRange } from './time.js';

export interface CorrOptions {
  /** One metric (every pair of its devices) or several (every pair of them on each device). */
  metrics: string[];
  devices?: string[];
  deviceLike?: string;
  range: TimeRange;
  every: Duration;
  /** Lags searched, either way; undefined: lag 0 only. A whole multiple of `every` (corrLags). */
  maxLag?: Duration;
  onNotice?: (message: string) => void;
}

export interface CorrRow {
  deviceA: string;
  metricA: string;
  deviceB: string;
  metricB: string;
  /** Aligned buckets (both sides have an average) at lag 0, and r there. */
  n: number;
  r: number | null;
  /** The lag with the largest |r|: b's bucket at t + lag against a's at t (positive: b follows a). */
  bestLagSeconds: number | null;
  bestR: number | null;
  bestN: number | null;
}

export interface CorrResult {
  metrics: string[];
  every: string;
  maxLag: string | null;
  since: Date;
  until: Date;
  minBuckets: number;
  rows: CorrRow[];
  /** Which source answered each part of the range, per metric (agg's plan). */
  sources: Array<{ metric: string; segments: Segment[] }>;
  warnings: string[];
}

/** The metrics and lags of a corr command line, checked before any database work. */
export function corrLags(every: Duration, maxLag: Duration | undefined): number {
  if (!maxLag) return 0;
  if (maxLag.ms % every.ms !== 0)
    throw usageError(
      `--max-lag (${maxLag.text}) must be a whole multiple of --every (${every.text})`,
      'lags are whole buckets: a b bucket is compared with the a bucket so many buckets before or after it',
    );
  return maxLag.ms / every.ms;
}

export function parseMetrics(text: string): string[] {
  const metrics = text
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '');
  if (!metrics.length) throw usageError('--metric needs at least one metric');
  const dup = metrics.find((m, i) => metrics.indexOf(m) !== i);
  if (dup !== undefined) throw usageError(`--metric names ${dup} twice`);
  return metrics;
}

interface Bucketed {
  device: string;
  metric: string;
  times: number[];
  values: number[];
}

/** The averages of two series on one grid of bucket indexes from `base` (NaN: no bucket). */
function aligned(a: Bucketed, b: Bucketed, base: number, everyMs: number): [Float64Array, Float64Array] {
  const last = Math.max(a.times.at(-1) ?? base, b.times.at(-1) ?? base);
  const size = Math.round((last - base) / everyMs) + 1;
  const fill = (s: Bucketed) => {
    const out = new Float64Array(size).fill(NaN);
    s.times.forEach((t, i) => (out[Math.round((t - base) / everyMs)] = s.values[i] as number));
    return out;
  };
  return [fill(a), fill(b)];
}

export async function queryCorr(db: Db, opts: CorrOptions): Promise<CorrResult> {
  const lags = corrLags(opts.every, opts.maxLag);
  const series: Bucketed[] = [];
  const sources: CorrResult['sources'] = [];
  const warnings: string[] = [];
  for (const metric of opts.metrics) {
    const filter = { metric, devices: opts.devices, deviceLike: opts.deviceLike };
    await streamAgg(
      db,
      { filter, range: opts.range, every: opts.every, fns: ['avg'], onNotice: opts.onNotice },
      async (res) => {
        sources.push({ metric, segments: res.sources });
        for (const w of res.warnings) if (!warnings.includes(w)) warnings.push(w);
        let s: Bucketed | undefined;
        for await (const page of res.pages) {
          for (const r of page) {
            if (typeof r.avg !== 'number') continue;
            if (!s || s.device !== r.device)
              series.push((s = { device: r.device, metric, times: [], values: [] }));
            s.times.push(r.time.getTime());
            s.values.push(r.avg);
          }
        }
      },
    );
  }
  // Every bucket lies on one grid (agg's origin), so any bucket start is a base for the indexes.
  let base = Infinity;
  for (const s of series) if (s.times.length) base = Math.min(base, s.times[0] as number);
  const pairs: Array<[Bucketed, Bucketed]> = [];
  if (opts.metrics.length === 1) {
    for (let i = 0; i < series.length; i++)
      for (let j = i + 1; j < series.length; j++) pairs.push([series[i]!, series[j]!]);
  } else {
    const devices = [...new Set(series.map((s) => s.device))].sort();
    const of = new Map(series.map((s) => [`${s.device}\u0000${s.metric}`, s]));
    for (const device of devices)
      for (let i = 0; i < opts.metrics.length; i++)
        for (let j = i + 1; j < opts.metrics.length; j++) {
          const a = of.get(`${device}\u0000${opts.metrics[i]}`);
          const b = of.get(`${device}\u0000${opts.metrics[j]}`);
          if (a && b) pairs.push([a, b]);
        }
  }
  const rows = pairs.map(([a, b]): CorrRow => {
    const [x, y] = aligned(a, b, base, opts.every.ms);
    const found = bestLag(x, y, lags);
    return {
      deviceA: a.device,
      metricA: a.metric,
      deviceB: b.device,
      metricB: b.metric,
      n: found.zero.n,
      r: found.zero.r,
      bestLagSeconds: found.lag === null ? null : (found.lag * opts.every.ms) / 1000,
      bestR: found.best.r,
      bestN: found.lag === null ? null : found.best.n,
    };
  });
  if (!rows.length && series.length && opts.onNotice)
    opts.onNotice(
      opts.metrics.length === 1
        ? `only one series of ${opts.metrics[0]} has readings in the range: nothing to correlate it with`
        : `no device has readings of two of ${opts.metrics.join(', ')} in the range`,
    );
  return {
    metrics: opts.metrics,
    every: opts.every.text,
    maxLag: opts.maxLag?.text ?? null,
    since: opts.range.since,
    until: opts.range.until,
    minBuckets: MIN_ALIGNED,
    rows,
    sources,
    warnings,
  };
}
