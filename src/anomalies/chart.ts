// What `anomalies --chart out.svg` draws: the series with incidents or flagged readings first, then the
// others the filter selects, up to a cap, and their readings in the range.
import { orderedSeries, type SeriesFilter } from '../db/sql/query.js';
import type { Db } from '../db/types.js';
import { queryRaw, type RawRow } from '../query/raw.js';
import type { TimeRange } from '../query/time.js';

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

/** The readings of each series in [since, until), one series after the other (in keyset pages). */
export async function* chartReadings(
  db: Db,
  series: ChartedSeries[],
  range: TimeRange,
): AsyncGenerator<RawRow> {
  for (const s of series) yield* queryRaw(db, { filter: { metric: s.metric, devices: [s.device] }, range });
}
