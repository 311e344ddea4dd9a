// `query gaps`: consecutive readings further apart than the expected interval, per series.
import { gapsBetween, type SeriesFilter } from '../db/sql/query.js';
import { loadStore } from '../db/store.js';
import type { Db } from '../db/types.js';
import type { Duration } from '../util/duration.js';
import { assertSeriesMatch, emptyRangeNote } from './selection.js';
import type { TimeRange } from './time.js';

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
    onNotice?: (message: string) => void;
  },
): Promise<GapsResult> {
  await loadStore(db);
  const { rows } = await db.query<GapRow>(
    gapsBetween(opts.filter, { from: opts.range.since, to: opts.range.until }, opts.expected.interval),
  );
  if (rows.length === 0) {
    await assertSeriesMatch(db, opts.filter);
    const { since, until } = opts.range;
    opts.onNotice?.(
      (await emptyRangeNote(db, opts.filter, opts.range)) ??
        `no gaps longer than ${opts.expected.text} between ${since.toISOString()} and ${until.toISOString()}`,
    );
  }
  return {
    expected: opts.expected.text,
    since: opts.range.since,
    until: opts.range.until,
    rows: rows.map((r) => ({ ...r, from: new Date(r.from), to: new Date(r.to) })),
  };
}
