// Reads what the planner needs to know about each rollup: from where and until when it is complete, and
// what is pending. The rules are the plain-mode staleness contract in the README's query section.
import { rowEstimate } from '../db/sql/query.js';
import type { Db } from '../db/types.js';
import type { RollupCompleteness, Store } from '../engine/types.js';
import { ceilToBucket } from '../util/buckets.js';
import type { RollupState, Segment } from './plan.js';

export interface RollupStates {
  rollups: RollupState[];
  /** Set when the states could not be read: every rollup is then unusable. */
  problem?: string;
}

interface Retention {
  cutoff: number;
  after: string;
}

/** Retention cutoffs (ms, by the database's clock) of points and the rollups that have a policy. */
async function readRetention(db: Db, store: Store): Promise<Map<string, Retention>> {
  const { rows } = await db.query<{ target: string; cutoff: Date; after: string }>(
    store.engine.retentionCutoffs(),
  );
  return new Map(rows.map((r) => [r.target, { cutoff: new Date(r.cutoff).getTime(), after: r.after }]));
}

export async function loadRollupStates(db: Db, store: Store): Promise<RollupStates> {
  const retention = await readRetention(db, store);
  const base = store.rollups.map((r) => {
    const kept = retention.get(r.name);
    // Retention deleted the buckets before the cutoff; the one holding it may be partly gone.
    return {
      name: r.name,
      bucketMs: r.bucket.ms,
      bucketText: r.bucket.text,
      completeFrom: kept ? ceilToBucket(kept.cutoff, r.bucket.ms) : -Infinity,
      retention: kept?.after,
    };
  });
  // Where each rollup is exact is the engine's to say: watermarks and dirty marks (plain), invalidation logs
  // (TimescaleDB). When it cannot say, no rollup is read.
  try {
    const states = await store.engine.rollupCompleteness(db, base, retention);
    return { rollups: base.map((r, i) => ({ ...r, ...(states[i] as RollupCompleteness) })) };
  } catch (err) {
    return { rollups: [], problem: `${(err as Error).message}; reading raw data` };
  }
}

/** The planner's estimate of the rows of a source (in a range, for some series). */
async function estimatedRows(
  db: Db,
  source: string,
  range: { from: Date; to: Date } | null,
  ids: number[] | null,
): Promise<number> {
  const { rows } = await db.query<{ 'QUERY PLAN': unknown }>(rowEstimate(source, range, ids));
  const plan = rows[0]?.['QUERY PLAN'];
  const parsed = (typeof plan === 'string' ? JSON.parse(plan) : plan) as Array<{ Plan: PlanNode }>;
  return parsed[0] ? planRows(parsed[0].Plan) : 0;
}

interface PlanNode {
  'Plan Rows': number;
  'Distributed Query'?: {
    Job?: { 'Task Count'?: number; Tasks?: Array<{ 'Remote Plan'?: Array<Array<{ Plan: PlanNode }>> }> };
  };
}

/**
 * The rows a plan expects. A Citus plan's own figure is a constant (100,000 whatever the table): there the
 * estimate is the task shown (one shard's plan on its worker) times the number of tasks.
 */
export function planRows(plan: PlanNode): number {
  const job = plan['Distributed Query']?.Job;
  const remote = job?.Tasks?.[0]?.['Remote Plan']?.[0]?.[0]?.Plan;
  if (job && remote) return planRows(remote) * Number(job['Task Count'] ?? 1);
  return Number(plan['Plan Rows'] ?? 0);
}

/**
 * Rows per millisecond of each source over the span its segments cover, from the planner's estimates (one
 * EXPLAIN per source, no rows read), kept within what is known for sure: a rollup holds at most one row
 * per series and bucket, and raw data holds at least as many readings per rollup row as the whole tables
 * do. The second matters for recent ranges: the statistics of the newest partition (or chunk) lag behind
 * its rows, while a rollup's bucket index gives the planner its actual range.
 */
export async function sourceDensities(
  db: Db,
  plans: Segment[][],
  series: { ids: number[]; filtered: boolean },
  bucketMs: (source: string) => number,
): Promise<Map<string, number>> {
  const spans = new Map<string, { from: number; to: number }>();
  for (const s of plans.flat()) {
    const span = spans.get(s.source);
    spans.set(s.source, {
      from: Math.min(span?.from ?? Infinity, s.from.getTime()),
      to: Math.max(span?.to ?? -Infinity, s.to.getTime()),
    });
  }
  const ids = series.filtered ? series.ids : null;
  const density = new Map<string, number>();
  for (const [source, span] of spans) {
    const range = { from: new Date(span.from), to: new Date(span.to) };
    let perMs = (await estimatedRows(db, source, range, ids)) / Math.max(1, span.to - span.from);
    const b = bucketMs(source);
    if (b > 0) perMs = Math.min(perMs, series.ids.length / b);
    density.set(source, perMs);
  }
  const raw = density.get('raw');
  if (raw === undefined) return density;
  const allRaw = await estimatedRows(db, 'raw', null, null);
  let atLeast = raw;
  for (const [source, perMs] of density) {
    if (source === 'raw') continue;
    const all = await estimatedRows(db, source, null, null);
    atLeast = Math.max(atLeast, perMs * Math.max(1, all > 0 ? allRaw / all : 1));
  }
  density.set('raw', atLeast);
  return density;
}
