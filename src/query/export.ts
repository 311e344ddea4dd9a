// `iotctl export`: every reading of the selected series, exactly as stored, in pages (flat memory).
import { eventsCount, eventsTableExists } from '../db/sql/events.js';
import { exportPage, type ExportRow } from '../db/sql/export.js';
import type { SeriesFilter } from '../db/sql/query.js';
import { loadStore } from '../db/store.js';
import type { Db } from '../db/types.js';

export interface ExportOptions {
  filter: SeriesFilter;
  /** Null: from the first reading / to the last. */
  range: { since: Date | null; until: Date | null };
  pageSize?: number;
}

/** Pages of readings ordered by series and time; times and values as exact text. */
export async function* exportReadings(db: Db, opts: ExportOptions): AsyncGenerator<ExportRow[]> {
  await loadStore(db);
  const pageSize = opts.pageSize ?? 10_000;
  let after: { seriesId: number; time: string } | undefined;
  for (;;) {
    const { rows } = await db.query<ExportRow>(
      exportPage(opts.filter, { from: opts.range.since, to: opts.range.until }, pageSize, after),
    );
    if (rows.length) yield rows;
    const last = rows[rows.length - 1];
    if (!last || rows.length < pageSize) return;
    after = { seriesId: last.series_id, time: last.time };
  }
}

/**
 * The events (text and boolean values) in the export's selection, which it does not write: `export` is
 * readings in the long numeric form; `query events --format ndjson` lists events with their level and payload.
 */
export async function eventsLeftOut(
  db: Db,
  opts: ExportOptions,
): Promise<{ events: number; series: number }> {
  if (!(await db.query<{ exists: boolean }>(eventsTableExists)).rows[0]?.exists)
    return { events: 0, series: 0 };
  const { rows } = await db.query<{ events: string | number; series: number }>(
    eventsCount(opts.filter, { from: opts.range.since, to: opts.range.until }),
  );
  return { events: Number(rows[0]?.events ?? 0), series: rows[0]?.series ?? 0 };
}
