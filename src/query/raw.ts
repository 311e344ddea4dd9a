// `query raw`: readings in a range, series by series in time order, in keyset pages (flat memory).
import { rawPage, type SeriesFilter } from '../db/sql/query.js';
import { loadStore } from '../db/store.js';
import type { Db } from '../db/types.js';
import { lttb } from './lttb.js';
import { assertSeriesMatch, noReadingsNote } from './selection.js';
import type { TimeRange } from './time.js';

export interface RawRow {
  time: Date;
  device: string;
  metric: string;
  value: number;
  unit: string | null;
}

export interface RawOptions {
  filter: SeriesFilter;
  range: TimeRange;
  /** At most this many rows in all. */
  limit?: number;
  /** Keep this many points per series (LTTB). */
  downsample?: number;
  pageSize?: number;
  /** Told when the result is empty (no readings in the range), for stderr. */
  onNotice?: (message: string) => void;
}

/**
 * Readings ordered by series and time, fetched in keyset pages so memory stays flat whatever the range;
 * with `downsample`, one series at a time is held to pick its points. A filter that matches no series is
 * a usage error (before any row); no readings in the range is told to `opts.onNotice` at the end.
 */
export async function* queryRaw(db: Db, opts: RawOptions): AsyncGenerator<RawRow> {
  let rows = 0;
  for await (const row of rawRows(db, opts)) {
    rows++;
    yield row;
  }
  if (rows === 0 && opts.onNotice)
    opts.onNotice(await noReadingsNote(db, (await loadStore(db)).engine, opts.filter, opts.range));
}

async function* rawRows(db: Db, opts: RawOptions): AsyncGenerator<RawRow> {
  await loadStore(db);
  const pageSize = opts.pageSize ?? 10_000;
  let remaining = opts.limit ?? Infinity;
  let after: { seriesId: number; time: Date } | undefined;
  // The series being downsampled: LTTB needs all of one series' points.
  const current: { id: number; rows: Array<RawRow & { x: number; y: number }> } = { id: -1, rows: [] };
  function* flush(): Generator<RawRow> {
    if (!opts.downsample) return;
    for (const p of lttb(current.rows, opts.downsample as number)) {
      if (remaining <= 0) return;
      remaining--;
      yield { time: p.time, device: p.device, metric: p.metric, value: p.value, unit: p.unit };
    }
  }
  while (remaining > 0) {
    const size = opts.downsample ? pageSize : Math.min(pageSize, remaining);
    const { rows } = await db.query<RawRow & { series_id: number }>(
      rawPage(opts.filter, { from: opts.range.since, to: opts.range.until }, size, after),
    );
    for (const r of rows) {
      const row: RawRow = {
        time: new Date(r.time),
        device: r.device,
        metric: r.metric,
        value: r.value,
        unit: r.unit,
      };
      if (!opts.downsample) {
        if (remaining-- <= 0) return;
        yield row;
        continue;
      }
      if (current.id !== r.series_id) {
        yield* flush();
        current.id = r.series_id;
        current.rows = [];
      }
      current.rows.push({ ...row, x: row.time.getTime(), y: row.value });
    }
    if (!after && rows.length === 0) await assertSeriesMatch(db, opts.filter);
    const last = rows[rows.length - 1];
    if (!last || rows.length < size) break;
    after = { seriesId: last.series_id, time: new Date(last.time) };
  }
  yield* flush();
}
