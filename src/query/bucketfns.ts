// What counters (increase, rate), moving windows (--window) and delta need of an agg query: the buckets read
// before the range but not printed, the output columns, and whether the rollups can answer.
import { aggBucketFns, bucketFnColumns, lastReadingBefore, type PriorReading } from '../db/sql/aggfn.js';
import type { AggSegment, AggSpec } from '../db/sql/query.js';
import { COUNTER_SCHEMA_VERSION } from '../db/sql/schema.js';
import type { Db, Sql } from '../db/types.js';
import type { StorageEngine, Store } from '../engine/types.js';
import { usageError } from '../errors.js';
import { floorToBucket } from '../util/buckets.js';
import type { Duration } from '../util/duration.js';
import { functionFor } from './functions.js';
import { perSeriesRows } from './selection.js';
import type { TimeRange } from './time.js';

export interface BucketFnPlan {
  /** The functions computed per bucket, without delta. */
  fns: string[];
  windowBuckets: number;
  delta: boolean;
  counters: boolean;
  /** Where reading starts: the window's and delta's earlier buckets (the range's start when neither). */
  readFrom: Date;
  /** The first bucket printed: the one --since falls in. */
  printFrom: Date;
  /** The start of the range: --since, floored to a bucket with --window or delta. */
  since: Date;
  columns: string[];
  /** Why the rollups cannot answer: they predate the counter columns. */
  rawOnly?: string;
}

/** Parses --window: a duration that is a whole number of --every buckets, or a number of buckets. */
export function parseWindow(text: string, every: Duration, parse: (t: string) => Duration): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    if (n < 1) throw usageError(`invalid --window '${text}': it must be at least 1 bucket`);
    return n;
  }
  const d = parse(t);
  if (d.ms % every.ms !== 0) {
    throw usageError(
      `--window ${d.text} is not a whole number of --every ${every.text} buckets`,
      `use a multiple of ${every.text}, or a number of buckets (--window 4)`,
    );
  }
  return d.ms / every.ms;
}

/** null when the query asks for none of these; usage errors for combinations that have no meaning. */
export function bucketFnPlan(
  opts: { fns: string[]; every: Duration; range: TimeRange; windowBuckets?: number },
  store: Pick<Store, 'schemaVersion'>,
): BucketFnPlan | null {
  const kinds = opts.fns.map((f) => functionFor(f)?.kind);
  const delta = kinds.includes('comparison');
  const counters = kinds.includes('counter');
  const windowBuckets = opts.windowBuckets ?? 0;
  if (!delta && !counters && windowBuckets === 0) return null;
  const pct = opts.fns.filter((_, i) => kinds[i] === 'percentile');
  if (pct.length) {
    throw usageError(
      `${pct.join(', ')} cannot be combined with increase, rate, delta or --window`,
      'percentiles are not recombined from other buckets; ask for them in a query of their own',
    );
  }
  const fns = opts.fns.filter((_, i) => kinds[i] !== 'comparison');
  if (fns.length === 0) throw usageError('delta needs another function to compare', 'e.g. --fn avg,delta');
  const lookback = Math.max(windowBuckets - 1, delta ? 1 : 0);
  const since = opts.range.since.getTime();
  const first = floorToBucket(since, opts.every.ms);
  // A partial first bucket would be compared with (and averaged into) whole ones: start at its boundary.
  const whole = lookback > 0 || windowBuckets > 0;
  return {
    fns,
    windowBuckets,
    delta,
    counters,
    readFrom: new Date(whole ? first - lookback * opts.every.ms : since),
    printFrom: new Date(first),
    since: new Date(whole ? first : since),
    columns: bucketFnColumns({ fns, windowBuckets, delta }),
    rawOnly:
      counters && store.schemaVersion < COUNTER_SCHEMA_VERSION
        ? 'the rollups of this store predate their counter columns (run `iotctl init` to add them)'
        : undefined,
  };
}

/** Counters: the last reading of each series before the earliest segment, read per shard on Citus. */
export async function priorReadings(
  db: Db,
  engine: StorageEngine,
  ids: number[],
  segments: AggSegment[],
): Promise<PriorReading[]> {
  const start = Math.min(...segments.map((s) => s.from.getTime()));
  if (!Number.isFinite(start) || ids.length === 0) return [];
  const rows = await perSeriesRows<{ id: number; time: Date; value: number }>(db, engine, { ids }, (f) =>
    lastReadingBefore(f, new Date(start)),
  );
  return rows.map((r) => ({ id: r.id, time: new Date(r.time), value: Number(r.value) }));
}

export function bucketFnSql(
  plan: BucketFnPlan,
  spec: AggSpec,
  segments: AggSegment[],
  before: PriorReading[],
): Sql {
  return aggBucketFns(
    {
      ...spec,
      fns: plan.fns,
      windowBuckets: plan.windowBuckets,
      delta: plan.delta,
      printFrom: plan.printFrom,
      counters: plan.counters,
      before,
    },
    segments,
  );
}
