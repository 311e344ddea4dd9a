// `query agg`: aggregates per bucket and series from the cheapest exact sources (rollups, raw at the edges),
// streamed from a cursor so memory stays flat whatever the number of rows.
import {
  aggFromSources,
  aggRaw,
  orderedSeries,
  type AggLines,
  type AggSpec,
  type SeriesFilter,
} from '../db/sql/query.js';
import { loadStore } from '../db/store.js';
import type { Db, Sql, Tx } from '../db/types.js';
import type { Duration } from '../util/duration.js';
import { functionFor, percentileFraction, percentilesOf, rawOnlyReason } from './functions.js';
import { candidatePlans, choosePlan, type PlanCost, type Segment } from './plan.js';
import { assertSeriesMatch, noReadingsNote } from './selection.js';
import { loadRollupStates, sourceDensities } from './sources.js';
import type { TimeRange } from './time.js';

export interface AggOptions {
  filter: SeriesFilter;
  range: TimeRange;
  every: Duration;
  fns: string[];
  /** Rows fetched per round trip from the cursor (default 10,000). */
  pageSize?: number;
  /** Told when the result is empty (no readings in the range), for stderr. */
  onNotice?: (message: string) => void;
}

export type AggRow = { time: Date; device: string; metric: string; unit: string | null } & Record<
  string,
  unknown
>;

interface AggHeader {
  every: string;
  since: Date;
  until: Date;
  fns: string[];
  /** Which source answered each part of the range, and why. */
  sources: Segment[];
  /** The plans the cost choice compared, the chosen one first; empty when there was no choice. */
  costs: PlanCost[];
  /** For stderr, not part of the JSON output. */
  warnings: string[];
}

export interface AggResult extends AggHeader {
  rows: AggRow[];
}

/**
 * The result with its rows as they arrive, a page at a time (an await per row would cost more than the
 * row): iterate `pages` once, inside the `consume` callback.
 */
export interface AggStream extends AggHeader {
  pages: AsyncIterable<AggRow[]>;
}

export interface SeriesRow {
  id: number;
  device: string;
  metric: string;
  unit: string | null;
  total: number;
}

type AggSqlRow = { series_id: number; t: number; percentiles?: number[] | null } & Record<string, unknown>;

const CURSOR = 'iotctl_agg';
/** Results of up to this many pages are read with one statement instead of a cursor. */
const SINGLE_READ_PAGES = 10;

/** What planning found: the series, the candidate plans and the chosen one. */
export interface AggPlan {
  opts: AggOptions;
  header: AggHeader;
  /** Every exact plan considered, coarsest first (the chosen one is header.sources). */
  candidates: Segment[][];
  series: SeriesRow[];
  filtered: boolean;
  bucketOf: (source: string) => number;
  bucket: AggSpec['bucket'];
}

/** Reads the store's rollup states and the selected series, and chooses the cheapest exact plan. */
export async function planAgg(db: Db, opts: AggOptions): Promise<AggPlan> {
  const store = await loadStore(db);
  const states = await loadRollupStates(db, store);
  const warnings: string[] = [];
  // Reading raw instead of a rollup is slower, not wrong: said on stderr whether or not --explain is given.
  if (states.problem && !percentilesOf(opts.fns).length) warnings.push(states.problem);
  const series = (await db.query<SeriesRow>(orderedSeries(opts.filter))).rows;
  if (series.length === 0) await assertSeriesMatch(db, opts.filter);
  const candidates = candidatePlans({
    from: opts.range.since.getTime(),
    to: opts.range.until.getTime(),
    everyMs: opts.every.ms,
    everyText: opts.every.text,
    rollups: states.rollups,
    rawOnly: rawOnlyReason(opts.fns) ?? states.problem,
  });
  const bucketMs = new Map(store.rollups.map((r) => [r.name, r.bucket.ms]));
  const bucketOf = (source: string) => bucketMs.get(source) ?? 0;
  const ids = series.map((s) => s.id);
  const filtered = ids.length < (series[0]?.total ?? 0);
  let choice = { segments: candidates[0] as Segment[], costs: [] as PlanCost[] };
  if (candidates.length > 1 && ids.length > 0) {
    const density = await sourceDensities(db, candidates, { ids, filtered }, bucketOf);
    const rowsOf = (s: Segment) => (density.get(s.source) ?? 0) * (s.to.getTime() - s.from.getTime());
    choice = choosePlan(candidates, rowsOf, bucketOf, opts.every.ms);
  }
  const header: AggHeader = {
    every: opts.every.text,
    since: opts.range.since,
    until: opts.range.until,
    fns: opts.fns,
    sources: choice.segments,
    costs: choice.costs,
    warnings,
  };
  const bucket = (interval: string, column: string) => store.engine.bucketExpr(interval, column);
  return { opts, header, candidates, series, filtered, bucketOf, bucket };
}

/** The statement of a plan's segments: rows of columns, or with `lines` one line of text per row. */
export function aggStatement(plan: AggPlan, segments: Segment[], lines?: AggLines): Sql {
  const { opts, series } = plan;
  const spec: AggSpec = {
    bucket: plan.bucket,
    every: opts.every,
    ids: series.map((s) => s.id),
    filtered: plan.filtered,
    fns: opts.fns,
    lines,
  };
  return segments.every((s) => s.source === 'raw')
    ? aggRaw(
        spec,
        { from: opts.range.since, to: opts.range.until },
        percentilesOf(opts.fns).map(percentileFraction),
      )
    : aggFromSources(
        spec,
        segments.map((s) => ({ ...s, bucketMs: plan.bucketOf(s.source) })),
      );
}

/**
 * Runs a plan (the chosen one unless `segments` says otherwise) and calls `consume` with the result, whose
 * rows are fetched page by page from a cursor, in one transaction held until `consume` returns.
 */
export async function runAgg<T>(
  db: Db,
  plan: AggPlan,
  consume: (res: AggStream) => Promise<T>,
  segments: Segment[] = plan.header.sources,
): Promise<T> {
  const { opts, series } = plan;
  const header = { ...plan.header, sources: segments };
  if (series.length === 0) return consume({ ...header, pages: (async function* () {})() });
  const percentiles = percentilesOf(opts.fns);
  const sql = aggStatement(plan, segments);
  const meta = new Map(series.map((s) => [s.id, s]));
  const pageSize = opts.pageSize ?? 10_000;
  const columns = opts.fns.map((fn) => ({
    fn,
    percentile: functionFor(fn)?.kind === 'percentile' ? percentiles.indexOf(fn) : -1,
  }));

  const toRows = (page: AggSqlRow[]): AggRow[] =>
    page.map((r) => {
      const s = meta.get(r.series_id) as SeriesRow;
      const row: AggRow = { time: new Date(r.t), device: s.device, metric: s.metric, unit: s.unit };
      for (const c of columns)
        row[c.fn] = c.percentile < 0 ? r[c.fn] : (r.percentiles?.[c.percentile] ?? null);
      return row;
    });

  // At most one row per series and bucket: a result that fits in a few pages is read with one statement
  // (which the database may run in parallel; a cursor it never does), anything bigger from a cursor.
  const buckets = Math.ceil((opts.range.until.getTime() - opts.range.since.getTime()) / opts.every.ms) + 1;
  if (series.length * buckets <= SINGLE_READ_PAGES * pageSize) {
    const { rows } = await db.query<AggSqlRow>(sql);
    return consume({
      ...header,
      pages: (async function* () {
        yield toRows(rows);
      })(),
    });
  }

  async function* pagesFrom(tx: Tx): AsyncGenerator<AggRow[]> {
    // A cursor is planned for its first rows unless told otherwise; agg reads them all.
    await tx.query('SET LOCAL cursor_tuple_fraction = 1');
    await tx.query({ text: `DECLARE ${CURSOR} NO SCROLL CURSOR FOR ${sql.text}`, values: sql.values });
    const fetch = (): Promise<{ rows: AggSqlRow[] }> =>
      tx.query<AggSqlRow>(`FETCH ${pageSize} FROM ${CURSOR}`);
    // One page ahead: the database prepares the next page while this one is turned into rows and printed.
    let next: Promise<{ rows: AggSqlRow[] }> | null = fetch();
    try {
      while (next) {
        const rows: AggSqlRow[] = (await next).rows;
        next = rows.length < pageSize ? null : fetch();
        if (rows.length) yield toRows(rows);
      }
    } finally {
      // A consumer that stops early leaves a page in flight: let it land before the transaction ends.
      await next?.catch(() => undefined);
    }
  }
  return db.transaction((tx) => consume({ ...header, pages: pagesFrom(tx) }));
}

/**
 * Plans the query and streams its result to `consume` (see runAgg); an empty result is told to
 * `opts.onNotice` once the transaction is over.
 */
export async function streamAgg<T>(
  db: Db,
  opts: AggOptions,
  consume: (res: AggStream) => Promise<T>,
): Promise<T> {
  let rows = 0;
  async function* counted(pages: AsyncIterable<AggRow[]>): AsyncGenerator<AggRow[]> {
    for await (const page of pages) {
      rows += page.length;
      yield page;
    }
  }
  const result = await runAgg(db, await planAgg(db, opts), (res) =>
    consume({ ...res, pages: counted(res.pages) }),
  );
  if (rows === 0) await noticeIfEmpty(db, opts);
  return result;
}

/** Tells `opts.onNotice` why a result is empty (no readings in the range, or none at all). */
export async function noticeIfEmpty(db: Db, opts: AggOptions): Promise<void> {
  if (opts.onNotice)
    opts.onNotice(await noReadingsNote(db, (await loadStore(db)).engine, opts.filter, opts.range));
}

/** Every row of a result, in memory. */
export async function collectAgg(res: AggStream): Promise<AggResult> {
  const { pages, ...header } = res;
  const rows: AggRow[] = [];
  for await (const page of pages) for (const r of page) rows.push(r);
  return { ...header, rows };
}

/** The whole result in memory: for tests and small queries. */
export function queryAgg(db: Db, opts: AggOptions): Promise<AggResult> {
  return streamAgg(db, opts, collectAgg);
}
