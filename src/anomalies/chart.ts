// What `anomalies --chart out.svg` draws: the series with incidents or flagged readings first, then the
// others the filter selects, up to a cap, and their readings (or per-bucket envelope) in the range.
import { orderedSeries, type SeriesFilter } from '../db/sql/query.js';
import type { Db } from '../db/types.js';
import { streamAgg } from '../query/agg.js';
import { queryRaw } from '../query/raw.js';
import type { TimeRange } from '../query/time.js';
import { parseDuration } from '../util/duration.js';

export interface ChartedSeries {
  device: string;
  metric: string;
  unit: string | null;
}

/** Up to `max` selected series, those named in `first` (device, metric) ahead in that order; and how many in all. */
export async function seriesToChart(
  db: Db,
  filter: SeriesFilter,
  first: Array<{ device: string; metric: string }>,
  max: number,
): Promise<{ series: ChartedSeries[]; selected: number }> {
  const all = (await db.query<ChartedSeries & { id: number }>(orderedSeries(filter))).rows;
  const key = (s: { device: string; metric: string }) => `${s.device}\u0000${s.metric}`;
  const byKey = new Map(all.map((s) => [key(s), s]));
  const chosen = new Map<string, ChartedSeries>();
  for (const s of [...first, ...all]) {
    if (chosen.size === max) break;
    const row = byKey.get(key(s));
    if (row && !chosen.has(key(s)))
      chosen.set(key(s), { device: row.device, metric: row.metric, unit: row.unit });
  }
  return { series: [...chosen.values()], selected: all.length };
}

/** Bucket widths a chart's envelope may read: whole multiples of the 1m, 1h and 1d rollups. */
const ENVELOPE_BUCKETS = [
  '1m',
  '2m',
  '5m',
  '10m',
  '15m',
  '30m',
  '1h',
  '2h',
  '3h',
  '6h',
  '12h',
  '1d',
  '7d',
].map((d) => parseDuration(d));

/**
 * The points of each series in [since, until) for a chart of `columns` time columns: the readings where a
 * column is under a minute wide, otherwise each bucket's lowest and highest value (at its start and its
 * middle) from `query agg`'s planner, so the rollups answer and a month is not read reading by reading.
 * At a column per bucket or less, the drawn line is the same envelope the readings would give.
 */
export async function chartPoints(
  db: Db,
  series: ChartedSeries[],
  range: TimeRange,
  columns: number,
  sink: (s: ChartedSeries, t: number, v: number | null) => void,
): Promise<void> {
  const widthMs = (range.until.getTime() - range.since.getTime()) / columns;
  const every = ENVELOPE_BUCKETS.find((d) => d.ms >= widthMs);
  for (const s of series) {
    const filter = { metric: s.metric, devices: [s.device] };
    if (widthMs < 60_000 || !every) {
      for await (const r of queryRaw(db, { filter, range })) sink(s, r.time.getTime(), r.value);
      continue;
    }
    await streamAgg(db, { filter, range, every, fns: ['min', 'max'] }, async (res) => {
      for await (const page of res.pages)
        for (const r of page) {
          const t = r.time.getTime();
          const lo = r.min as number | null;
          const hi = r.max as number | null;
          if (lo === null || hi === null) continue;
          sink(s, t, lo);
          if (hi !== lo) sink(s, t + every.ms / 2, hi);
        }
    });
  }
}
