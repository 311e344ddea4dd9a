// Reads the readings to score: the selected series with where each one's history starts, then every
// reading from there to --until in time slices, per series in time order. A slice is one statement that
// returns one row per series with its times and values packed as bytea, so the cost per reading is a
// few bytes, not a row; slices grow or shrink towards SLICE_TARGET readings, and on a server the next
// slice is read while the current one is scored.
import { anomalySeries, readingsSlice } from '../db/sql/anomalies.js';
import type { SeriesFilter } from '../db/sql/query.js';
import type { Db } from '../db/types.js';
import type { TimeRange } from '../query/time.js';
import type { Lookback } from './method.js';

export interface SeriesToScore {
  id: number;
  device: string;
  metric: string;
  unit: string | null;
  /** Where scoring starts (ms): history before --since for the baseline. */
  historyFrom: number;
}

export interface SeriesSlice {
  id: number;
  times: Float64Array;
  values: Float64Array;
}

const SLICE_TARGET = 500_000;
const FIRST_SLICE_MS = 10 * 60_000;
/** Microseconds from the Unix epoch to PostgreSQL's, 2000-01-01. */
const PG_EPOCH_MS = 946_684_800_000;

export async function seriesToScore(
  db: Db,
  filter: SeriesFilter,
  range: TimeRange,
  lookback: Lookback,
): Promise<{ series: SeriesToScore[]; scanFrom: number | null }> {
  const { rows } = await db.query<{
    id: number;
    device: string;
    metric: string;
    unit: string | null;
    history_from: Date;
    first: Date | null;
  }>(anomalySeries(filter, range.since, range.until, lookback));
  let scanFrom: number | null = null;
  for (const r of rows) {
    if (r.first === null) continue;
    const t = new Date(r.first).getTime();
    if (scanFrom === null || t < scanFrom) scanFrom = t;
  }
  return {
    series: rows.map((r) => ({
      id: r.id,
      device: r.device,
      metric: r.metric,
      unit: r.unit,
      historyFrom: new Date(r.history_from).getTime(),
    })),
    scanFrom,
  };
}

/** Every reading of `ids` in [from, until), slice by slice; within a slice each series in time order. */
export async function* readSlices(
  db: Db,
  ids: number[],
  from: number,
  until: number,
): AsyncGenerator<SeriesSlice[]> {
  let sliceMs = FIRST_SLICE_MS;
  let next = from;
  const depth = db.maxParallel > 1 ? 2 : 1;
  const inFlight: Array<Promise<{ span: number; count: number; series: SeriesSlice[] }>> = [];
  const plan = () => {
    const a = next;
    const b = Math.min(until, a + sliceMs);
    next = b;
    return fetchSlice(db, ids, a, b).then((series) => ({
      span: b - a,
      count: series.reduce((n, s) => n + s.times.length, 0),
      series,
    }));
  };
  while (next < until || inFlight.length) {
    while (inFlight.length < depth && next < until) inFlight.push(plan());
    const slice = await (inFlight.shift() as Promise<{ span: number; count: number; series: SeriesSlice[] }>);
    // Aim the next slices at SLICE_TARGET readings, changing the width at most fourfold at a time.
    const factor = slice.count === 0 ? 4 : Math.min(4, Math.max(0.25, SLICE_TARGET / slice.count));
    sliceMs = Math.max(1000, Math.round((slice.span * factor) / 1000) * 1000);
    if (slice.series.length) yield slice.series;
  }
}

async function fetchSlice(db: Db, ids: number[], from: number, to: number): Promise<SeriesSlice[]> {
  const { rows } = await db.query<{ series_id: number; times: Uint8Array; vals: Uint8Array }>(
    readingsSlice(ids, new Date(from), new Date(to)),
  );
  return rows.map((r) => decode(r.series_id, r.times, r.vals));
}

/** Unpacks timestamptz_send / float8send bytes (big-endian) and puts the readings in time order. */
export function decode(id: number, timeBytes: Uint8Array, valueBytes: Uint8Array): SeriesSlice {
  const n = valueBytes.length / 8;
  const tv = new DataView(timeBytes.buffer, timeBytes.byteOffset, timeBytes.byteLength);
  const vv = new DataView(valueBytes.buffer, valueBytes.byteOffset, valueBytes.byteLength);
  let times = new Float64Array(n);
  let values = new Float64Array(n);
  let sorted = true;
  for (let i = 0; i < n; i++) {
    const us = tv.getInt32(8 * i) * 4_294_967_296 + tv.getUint32(8 * i + 4);
    times[i] = us / 1000 + PG_EPOCH_MS;
    values[i] = vv.getFloat64(8 * i);
    if (i > 0 && (times[i] as number) < (times[i - 1] as number)) sorted = false;
  }
  if (!sorted) {
    const order = Array.from({ length: n }, (_, i) => i).sort(
      (a, b) => (times[a] as number) - (times[b] as number),
    );
    times = Float64Array.from(order, (i) => times[i] as number);
    values = Float64Array.from(order, (i) => values[i] as number);
  }
  return { id, times, values };
}
