// `query latest`: the last reading of each series and its age, optionally only the silent ones.
import type { SeriesFilter } from '../db/sql/query.js';
import { loadStore } from '../db/store.js';
import type { Db } from '../db/types.js';
import type { Duration } from '../util/duration.js';
import { assertSeriesMatch, holdsNoReadings } from './selection.js';

export interface LatestRow {
  time: Date;
  device: string;
  metric: string;
  value: number;
  unit: string | null;
  ageSeconds: number;
}

export interface LatestResult {
  stale: string | null;
  rows: LatestRow[];
}

/**
 * A filter that matches no series is a usage error; an empty answer otherwise (no reading at all, or
 * none silent for longer than `stale`) is told to `onNotice`.
 */
export async function queryLatest(
  db: Db,
  opts: { filter: SeriesFilter; stale?: Duration; onNotice?: (message: string) => void },
): Promise<LatestResult> {
  const store = await loadStore(db);
  const { rows } = await db.query<{
    time: Date;
    device: string;
    metric: string;
    value: number;
    unit: string | null;
    age_seconds: number;
  }>(store.engine.latestReadings(opts.filter, opts.stale?.interval));
  if (rows.length === 0) {
    await assertSeriesMatch(db, opts.filter);
    opts.onNotice?.(
      opts.stale
        ? `no series has been silent for longer than ${opts.stale.text}`
        : `no readings: ${holdsNoReadings(opts.filter)}`,
    );
  }
  return {
    stale: opts.stale?.text ?? null,
    rows: rows.map((r) => ({
      time: new Date(r.time),
      device: r.device,
      metric: r.metric,
      value: r.value,
      unit: r.unit,
      ageSeconds: Math.max(0, Math.round(r.age_seconds)),
    })),
  };
}
