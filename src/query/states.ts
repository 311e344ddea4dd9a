// `query agg` on an event metric: per bucket and series, how many events of each value arrived and how long
// each state lasted. A state lasts from its event until the next event of its series; the last one until
// the end of the range or now, whichever is earlier; the state in force at --since (the last event before
// it) counts from --since. Buckets share time_bucket's origin (Monday 2000-01-03 UTC) with the readings'.
import { eventsAndReadings, eventsPage, eventsTableExists, statesAt } from '../db/sql/events.js';
import type { SeriesFilter } from '../db/sql/query.js';
import { loadStore } from '../db/store.js';
import type { Db } from '../db/types.js';
import { usageError } from '../errors.js';
import { floorToBucket } from '../util/buckets.js';
import type { Duration } from '../util/duration.js';
import { perSeriesRows } from './selection.js';
import type { TimeRange } from './time.js';

export interface StateAggOptions {
  filter: SeriesFilter;
  range: TimeRange;
  every: Duration;
  /** The end of an open range (default: the clock now). */
  nowMs?: number;
  pageSize?: number;
}

export interface StateRow {
  /** Bucket start. */
  time: Date;
  device: string;
  metric: string;
  value: string;
  /** Events of this value in the bucket. */
  count: number;
  /** Seconds the series was in this state within the bucket. */
  seconds: number;
  /** seconds / the bucket's length. */
  share: number;
}

export interface StateAggResult {
  every: string;
  since: Date;
  until: Date;
  /** Where the last states end: the range's end or now, whichever is earlier. */
  statesUntil: Date;
  rows: StateRow[];
}

/** At most this many (bucket, series) cells are worked out; more is a usage error naming a coarser --every. */
const MAX_BUCKETS = 1_000_000;

/**
 * Whether `query agg` over this selection reads events: a metric is named, the store has events, and the
 * selected series hold events and no readings.
 */
export async function selectsEventSeries(db: Db, filter: SeriesFilter): Promise<boolean> {
  if (filter.metric === undefined) return false;
  if (!(await db.query<{ exists: boolean }>(eventsTableExists)).rows[0]?.exists) return false;
  const store = await loadStore(db);
  const rows = await perSeriesRows<{ events: boolean; readings: boolean }>(
    db,
    store.engine,
    filter,
    eventsAndReadings,
  );
  return rows.some((r) => r.events) && !rows.some((r) => r.readings);
}

interface SeriesState {
  device: string;
  metric: string;
  /** The state at `since` (the last event before it), if any. */
  carry: string | null;
  events: Array<[number, string]>;
}

export async function aggregateStates(db: Db, opts: StateAggOptions): Promise<StateAggResult> {
  const store = await loadStore(db);
  const since = opts.range.since.getTime();
  const until = opts.range.until.getTime();
  const end = Math.min(until, opts.nowMs ?? Date.now());
  const bucketMs = opts.every.ms;
  const perSeries = Math.ceil((until - floorToBucket(since, bucketMs)) / bucketMs);
  const starts = await perSeriesRows<{
    id: number;
    device: string;
    metric: string;
    value: string | null;
  }>(db, store.engine, opts.filter, (f) => statesAt(f, opts.range.since));
  if (perSeries * Math.max(1, starts.length) > MAX_BUCKETS) {
    throw usageError(
      `--every ${opts.every.text} gives ${perSeries} buckets for each of ${starts.length} series`,
      'choose a coarser --every or a shorter range',
    );
  }
  const series = new Map<number, SeriesState>(
    starts.map((s) => [s.id, { device: s.device, metric: s.metric, carry: s.value, events: [] }]),
  );
  const pageSize = opts.pageSize ?? 10_000;
  let after: { seriesId: number; time: Date } | undefined;
  for (;;) {
    const { rows } = await db.query<{ series_id: number; time: Date; value: string }>(
      eventsPage(opts.filter, { from: opts.range.since, to: opts.range.until }, pageSize, { after }),
    );
    for (const r of rows) series.get(r.series_id)?.events.push([new Date(r.time).getTime(), r.value]);
    const last = rows[rows.length - 1];
    if (!last || rows.length < pageSize) break;
    after = { seriesId: last.series_id, time: new Date(last.time) };
  }

  const out: StateRow[] = [];
  for (const s of series.values()) {
    // bucket → value → [count, ms]
    const cells = new Map<number, Map<string, [number, number]>>();
    const cell = (bucket: number, value: string) => {
      let byValue = cells.get(bucket);
      if (!byValue) cells.set(bucket, (byValue = new Map()));
      let c = byValue.get(value);
      if (!c) byValue.set(value, (c = [0, 0]));
      return c;
    };
    const span = (from: number, to: number, value: string) => {
      if (to <= from) return;
      for (let b = floorToBucket(from, bucketMs); b < to; b += bucketMs)
        cell(b, value)[1] += Math.min(to, b + bucketMs) - Math.max(from, b);
    };
    const first = s.events[0]?.[0] ?? end;
    if (s.carry !== null && first > since) span(since, Math.min(first, end), s.carry);
    s.events.forEach(([t, value], i) => {
      cell(floorToBucket(t, bucketMs), value)[0]++;
      const next = s.events[i + 1]?.[0] ?? end;
      if (next > t && t < end) span(t, Math.min(next, end), value);
    });
    for (const b of [...cells.keys()].sort((x, y) => x - y)) {
      const byValue = cells.get(b) as Map<string, [number, number]>;
      for (const v of [...byValue.keys()].sort()) {
        const [count, ms] = byValue.get(v) as [number, number];
        out.push({
          time: new Date(b),
          device: s.device,
          metric: s.metric,
          value: v,
          count,
          seconds: ms / 1000,
          share: ms / bucketMs,
        });
      }
    }
  }
  return {
    every: opts.every.text,
    since: opts.range.since,
    until: opts.range.until,
    statesUntil: new Date(Math.max(since, end)),
    rows: out,
  };
}
