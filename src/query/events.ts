// `query events`: the events (text and boolean values, log lines) of the selected series in a range, series
// by series in time order, in keyset pages (flat memory), like `query raw` for readings.
import { eventsPage, eventsTableExists } from '../db/sql/events.js';
import type { SeriesFilter } from '../db/sql/query.js';
import { loadStore } from '../db/store.js';
import type { Db } from '../db/types.js';
import { IotctlError } from '../errors.js';
import { assertSeriesMatch } from './selection.js';
import type { TimeRange } from './time.js';

export interface EventRow {
  time: Date;
  device: string;
  metric: string;
  value: string;
  level: string | null;
  payload: unknown;
}

export interface EventsOptions {
  filter: SeriesFilter;
  range: TimeRange;
  /** Only events of these levels (log lines). */
  levels?: string[];
  /** At most this many rows in all. */
  limit?: number;
  pageSize?: number;
  /** Told when the result is empty, for stderr. */
  onNotice?: (message: string) => void;
}

/** A configuration error (exit 2) when the store predates the events table: `init` adds it. */
export async function assertEventsTable(db: Db): Promise<void> {
  if ((await db.query<{ exists: boolean }>(eventsTableExists)).rows[0]?.exists) return;
  throw new IotctlError('CONFIG', 'this store has no events table yet', {
    hint: 'run `iotctl init` once: it adds iotctl.events to an existing store',
  });
}

export async function* queryEvents(db: Db, opts: EventsOptions): AsyncGenerator<EventRow> {
  await loadStore(db);
  await assertEventsTable(db);
  const pageSize = opts.pageSize ?? 10_000;
  let remaining = opts.limit ?? Infinity;
  let after: { seriesId: number; time: Date } | undefined;
  let rows = 0;
  while (remaining > 0) {
    const size = Math.min(pageSize, remaining);
    const page = await db.query<EventRow & { series_id: number }>(
      eventsPage(opts.filter, { from: opts.range.since, to: opts.range.until }, size, {
        levels: opts.levels,
        after,
      }),
    );
    for (const r of page.rows) {
      remaining--;
      rows++;
      yield {
        time: new Date(r.time),
        device: r.device,
        metric: r.metric,
        value: r.value,
        level: r.level,
        payload: r.payload,
      };
    }
    if (!after && page.rows.length === 0) await assertSeriesMatch(db, opts.filter);
    const last = page.rows[page.rows.length - 1];
    if (!last || page.rows.length < size) break;
    after = { seriesId: last.series_id, time: new Date(last.time) };
  }
  if (rows === 0)
    opts.onNotice?.(
      `no events between ${opts.range.since.toISOString()} and ${opts.range.until.toISOString()}`,
    );
}
