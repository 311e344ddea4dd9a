// `iotctl series`: what is stored, series by series: device, metric, unit, tags, first and last reading,
// and how many readings (exact, counted by `query agg`'s planner from the rollups, and from raw readings
// only where no rollup is exact; an estimate from the series' cadence where the store has no rollups).
import { eventsTableExists } from '../db/sql/events.js';
import { seriesOverview, type SeriesOverviewRow } from '../db/sql/series.js';
import type { SeriesFilter } from '../db/sql/query.js';
import { loadStore } from '../db/store.js';
import type { Db } from '../db/types.js';
import { streamAgg } from './agg.js';
import { perSeriesRows } from './selection.js';

export interface SeriesInfo {
  device: string;
  metric: string;
  unit: string | null;
  tags: Record<string, unknown> | null;
  first: Date | null;
  last: Date | null;
  readings: number;
  /** False when `readings` is an estimate (no rollups: the span over the average step of the last 100). */
  readingsExact: boolean;
  /** Its events (text and boolean values), counted exactly; `first` and `last` span readings and events. */
  events: number;
}

export async function listSeries(db: Db, filter: SeriesFilter): Promise<SeriesInfo[]> {
  const store = await loadStore(db);
  const withEvents = !!(await db.query<{ exists: boolean }>(eventsTableExists)).rows[0]?.exists;
  const rows = await perSeriesRows<SeriesOverviewRow>(db, store.engine, filter, (f) =>
    seriesOverview(f, withEvents),
  );
  const coarsest = store.rollups[store.rollups.length - 1];
  const counts = new Map<string, number>();
  const firsts = rows.flatMap((r) => (r.first ? [new Date(r.first).getTime()] : []));
  const lasts = rows.flatMap((r) => (r.last ? [new Date(r.last).getTime()] : []));
  if (coarsest && firsts.length) {
    const range = { since: new Date(Math.min(...firsts)), until: new Date(Math.max(...lasts) + 1) };
    await streamAgg(db, { filter, range, every: coarsest.bucket, fns: ['count'] }, async (res) => {
      for await (const page of res.pages) {
        for (const r of page) {
          const key = `${r.device}\u0000${r.metric}`;
          counts.set(key, (counts.get(key) ?? 0) + Number(r.count ?? 0));
        }
      }
    });
  }
  return rows.map((r) => {
    const first = r.first ? new Date(r.first) : null;
    const last = r.last ? new Date(r.last) : null;
    let readings = 0;
    if (coarsest) readings = counts.get(`${r.device}\u0000${r.metric}`) ?? 0;
    else if (first && last) {
      const span = (last.getTime() - first.getTime()) / 1000;
      readings = r.step_seconds ? Math.round(span / r.step_seconds) + 1 : 1;
    }
    const ef = r.events_first ? new Date(r.events_first) : null;
    const el = r.events_last ? new Date(r.events_last) : null;
    const earliest = (a: Date | null, b: Date | null) => (!a ? b : !b ? a : a <= b ? a : b);
    const latest = (a: Date | null, b: Date | null) => (!a ? b : !b ? a : a >= b ? a : b);
    return {
      device: r.device,
      metric: r.metric,
      unit: r.unit,
      tags: r.tags,
      first: earliest(first, ef),
      last: latest(last, el),
      readings,
      readingsExact: !!coarsest || readings <= 1,
      events: Number(r.events ?? 0),
    };
  });
}
