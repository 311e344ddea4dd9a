// `query profile`: the typical value per hour of the day or day of the week (median and quartiles of
// hourly averages), from query agg's planner, so rollups answer where they are exact.
//
// An hour's average is sum / count of the readings in the hour, as agg's avg and the anomaly method
// `robust --season` (../anomalies/seasonal.ts) have it. Hours are local hours of --tz (UTC by default):
// agg's buckets are 1h when the zone's offset is a whole number of hours over the range, 15m otherwise
// (India, Nepal), added up into local hours; the range is trimmed to whole local hours.
import { usageError } from '../errors.js';
import { zoneOffsets } from '../util/zone.js';
import { parseDuration } from '../util/duration.js';
import type { SeriesFilter } from '../db/sql/query.js';
import type { Db } from '../db/types.js';
import { streamAgg, type AggRow } from './agg.js';
import type { Segment } from './plan.js';
import { quantile } from './stats.js';
import type { TimeRange } from './time.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

export const PROFILE_BY = ['hour', 'weekday'] as const;
export type ProfileBy = (typeof PROFILE_BY)[number];

export interface ProfileOptions {
  filter: SeriesFilter;
  /** Trimmed to whole local hours (profileRange). */
  range: TimeRange;
  by: ProfileBy;
  tz: string;
  onNotice?: (message: string) => void;
}

/** One slot of one series: `hour` 0-23 (local) or `weekday` 1-7 (ISO: Monday 1), and its hourly averages. */
export type ProfileRow = {
  device: string;
  metric: string;
  unit: string | null;
} & Partial<Record<ProfileBy, number>> & {
    p25: number | null;
    median: number | null;
    p75: number | null;
    hours: number;
  };

export interface ProfileResult {
  by: ProfileBy;
  tz: string;
  since: Date;
  until: Date;
  rows: ProfileRow[];
  /** Which source answered each part of the range (agg's plan). */
  sources: Segment[];
  warnings: string[];
}

/** The slot of a local time (ms as if UTC): the hour of the day, or the ISO weekday (1970-01-01 was a Thursday). */
export function slotOf(by: ProfileBy, localMs: number): number {
  if (by === 'hour') return ((Math.floor(localMs / HOUR) % 24) + 24) % 24;
  return ((((Math.floor(localMs / DAY) + 3) % 7) + 7) % 7) + 1;
}

/** The first local-hour boundary at or after `t` (`up`), or the last one at or before it. */
function localHourEdge(offsetOf: (t: number) => number, t: number, up: boolean): number {
  let edge = t;
  // Twice: the edge may lie across an offset change from t.
  for (let i = 0; i < 2; i++) {
    const off = offsetOf(edge);
    const local = (up ? Math.ceil : Math.floor)((t + off) / HOUR) * HOUR;
    edge = local - off;
  }
  return edge;
}

/**
 * Validates --tz and trims the range to whole local hours, before any database work: a range that holds
 * no whole hour is a usage error.
 */
export function profileRange(range: TimeRange, tz: string): TimeRange {
  const offsetOf = zoneOffsets(tz);
  const since = localHourEdge(offsetOf, range.since.getTime(), true);
  const until = localHourEdge(offsetOf, range.until.getTime(), false);
  if (since >= until)
    throw usageError(
      `the range ${range.since.toISOString()} to ${range.until.toISOString()} holds no whole hour`,
      'a profile is of hourly averages: give --since and --until at least an hour apart',
    );
  return { since: new Date(since), until: new Date(until) };
}

/** Every row of one series' slots, from its hourly averages. */
function seriesRows(
  s: { device: string; metric: string; unit: string | null },
  by: ProfileBy,
  slots: number[][],
): ProfileRow[] {
  return slots.map((values, i) => {
    const sorted = Float64Array.from(values).sort();
    return {
      device: s.device,
      metric: s.metric,
      unit: s.unit,
      [by]: by === 'hour' ? i : i + 1,
      p25: quantile(sorted, 0.25),
      median: quantile(sorted, 0.5),
      p75: quantile(sorted, 0.75),
      hours: sorted.length,
    };
  });
}

export async function queryProfile(db: Db, opts: ProfileOptions): Promise<ProfileResult> {
  const offsetOf = zoneOffsets(opts.tz);
  const from = opts.range.since.getTime();
  const to = opts.range.until.getTime();
  // Whole-hour offsets all through the range (sampled every 6 hours: no zone changes more often): 1h buckets.
  let wholeHours = offsetOf(to) % HOUR === 0;
  for (let t = from; t < to && wholeHours; t += 6 * HOUR) wholeHours = offsetOf(t) % HOUR === 0;
  const every = parseDuration(wholeHours ? '1h' : '15m');
  const slotCount = opts.by === 'hour' ? 24 : 7;
  const rows: ProfileRow[] = [];
  let series: AggRow | null = null;
  let slots: number[][] = [];
  let hour = NaN;
  let sum = 0;
  let count = 0;
  const flushHour = () => {
    if (count > 0) slots[slotOf(opts.by, hour * HOUR) - (opts.by === 'hour' ? 0 : 1)]!.push(sum / count);
    sum = count = 0;
  };
  const flushSeries = () => {
    flushHour();
    if (series) rows.push(...seriesRows(series, opts.by, slots));
  };
  const header = await streamAgg(
    db,
    { filter: opts.filter, range: opts.range, every, fns: ['sum', 'count'], onNotice: opts.onNotice },
    async (res) => {
      for await (const page of res.pages) {
        for (const r of page) {
          if (!series || r.device !== series.device || r.metric !== series.metric) {
            flushSeries();
            series = r;
            slots = Array.from({ length: slotCount }, () => []);
            hour = NaN;
          }
          const n = Number(r.count);
          if (!(n > 0) || typeof r.sum !== 'number') continue;
          const t = r.time.getTime();
          const local = Math.floor((t + offsetOf(t)) / HOUR);
          if (local !== hour) {
            flushHour();
            hour = local;
          }
          sum += r.sum;
          count += n;
        }
      }
      flushSeries();
      return { sources: res.sources, warnings: res.warnings };
    },
  );
  return { by: opts.by, tz: opts.tz, since: opts.range.since, until: opts.range.until, rows, ...header };
}
