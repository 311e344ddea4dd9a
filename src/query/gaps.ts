// `query gaps`: consecutive readings further apart than the expected interval, per series.
import { gapsBetween, type SeriesFilter } from '../db/sql/query.js';
import { loadStore } from '../db/store.js';
import type { Db } from '../db/types.js';
import { usageError } from '../errors.js';
import { formatDurationMs, parseDuration } from '../util/duration.js';
import type { Duration } from '../util/duration.js';
import { assertSeriesMatch, emptyRangeNote } from './selection.js';
import type { TimeRange } from './time.js';

/**
 * The default tolerance, as a fraction of --expected: an interval up to half as long again is no gap. It
 * is the midpoint between one interval and the two a single missed reading makes, so clock drift and
 * jitter below half an interval never look like a gap and one missed reading always does (measured on
 * the UCI occupancy data: steps of 59, 60 and 61 s at 1-minute readings).
 */
export const DEFAULT_TOLERANCE = 0.5;

/** --tolerance: a duration (`10s`, `0s`) or a percentage of --expected (`10%`, at most 100%). */
export function parseTolerance(text: string, expected: Duration): number {
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(text.trim());
  if (!pct) return parseDuration(text, '--tolerance', { allowZero: true }).ms;
  const n = Number(pct[1]);
  if (n > 100) throw usageError(`invalid --tolerance '${text}': a percentage is at most 100%`);
  return Math.round((expected.ms * n) / 100);
}

export interface GapRow {
  device: string;
  metric: string;
  from: Date;
  to: Date;
  seconds: number;
  /** Readings missing at the expected interval. */
  missing: number;
  /** True for the gap from the last reading to the end of the range (the device is still silent). */
  open: boolean;
}

export interface GapsResult {
  expected: string;
  /** How much longer than `expected` an interval may be before it is a gap. */
  tolerance: string;
  since: Date;
  until: Date;
  rows: GapRow[];
}

/**
 * A filter that matches no series is a usage error; an empty answer otherwise (no readings in the range,
 * or no gaps) is told to `onNotice`.
 */
export async function queryGaps(
  db: Db,
  opts: {
    filter: SeriesFilter;
    range: TimeRange;
    expected: Duration;
    /** Added to `expected` before an interval counts as a gap (default: DEFAULT_TOLERANCE of it). */
    toleranceMs?: number;
    onNotice?: (message: string) => void;
  },
): Promise<GapsResult> {
  const { engine } = await loadStore(db);
  const toleranceMs = opts.toleranceMs ?? Math.round(opts.expected.ms * DEFAULT_TOLERANCE);
  const { rows } = await db.query<GapRow>(
    gapsBetween(
      opts.filter,
      { from: opts.range.since, to: opts.range.until },
      opts.expected.interval,
      `${toleranceMs} milliseconds`,
    ),
  );
  const tolerance = formatDurationMs(toleranceMs);
  if (rows.length === 0) {
    await assertSeriesMatch(db, opts.filter);
    const { since, until } = opts.range;
    opts.onNotice?.(
      (await emptyRangeNote(db, engine, opts.filter, opts.range)) ??
        `no gaps longer than ${opts.expected.text} (+ ${tolerance} tolerance) between ${since.toISOString()} and ${until.toISOString()}`,
    );
  }
  return {
    expected: opts.expected.text,
    tolerance,
    since: opts.range.since,
    until: opts.range.until,
    rows: rows.map((r) => ({ ...r, from: new Date(r.from), to: new Date(r.to) })),
  };
}
