// `query agg`: aggregates per bucket and series from the cheapest exact source (rollups, raw at the edges).
import { aggCombined, aggRaw, type SeriesFilter } from '../db/sql/query.js';
import { loadStore } from '../db/store.js';
import type { Db } from '../db/types.js';
import type { Duration } from '../util/duration.js';
import { functionFor, percentileFraction, percentilesOf, rawOnlyReason } from './functions.js';
import { planSources, type Segment } from './plan.js';
import { loadRollupStates } from './sources.js';
import type { TimeRange } from './time.js';

export interface AggOptions {
  filter: SeriesFilter;
  range: TimeRange;
  every: Duration;
  fns: string[];
}

export type AggRow = { time: Date; device: string; metric: string; unit: string | null } & Record<
  string,
  unknown
>;

export interface AggResult {
  every: string;
  since: Date;
  until: Date;
  fns: string[];
  /** Which source answered each part of the range, and why. */
  sources: Segment[];
  rows: AggRow[];
  /** For stderr, not part of the JSON output. */
  warnings: string[];
}

type AggSqlRow = { time: Date; device: string; metric: string; unit: string | null } & Record<
  string,
  unknown
> & { percentiles?: number[] | null };

export async function queryAgg(db: Db, opts: AggOptions): Promise<AggResult> {
  const store = await loadStore(db);
  const percentiles = percentilesOf(opts.fns);
  const states = await loadRollupStates(db, store);
  const warnings: string[] = [];
  // Reading raw instead of a rollup is slower, not wrong: said on stderr whether or not --explain is given.
  if (states.problem && !percentiles.length) warnings.push(states.problem);
  const rawOnly = rawOnlyReason(opts.fns) ?? states.problem;
  const sources = planSources({
    from: opts.range.since.getTime(),
    to: opts.range.until.getTime(),
    everyMs: opts.every.ms,
    everyText: opts.every.text,
    rollups: states.rollups,
    rawOnly,
  });
  const onlyRaw = sources.every((s) => s.source === 'raw');
  const bucket = (interval: string, column: string) => store.engine.bucketExpr(interval, column);
  const sql = onlyRaw
    ? aggRaw(
        bucket,
        opts.every.interval,
        { from: opts.range.since, to: opts.range.until },
        opts.filter,
        percentiles.map(percentileFraction),
      )
    : aggCombined(bucket, opts.every.interval, sources, opts.filter);
  const { rows } = await db.query<AggSqlRow>(sql);
  const result = rows.map((r) => {
    const row: AggRow = { time: new Date(r.time), device: r.device, metric: r.metric, unit: r.unit };
    for (const fn of opts.fns) {
      row[fn] =
        functionFor(fn)?.kind === 'percentile' ? (r.percentiles?.[percentiles.indexOf(fn)] ?? null) : r[fn];
    }
    return row;
  });
  return {
    every: opts.every.text,
    since: opts.range.since,
    until: opts.range.until,
    fns: opts.fns,
    sources,
    rows: result,
    warnings,
  };
}
