// Reads what the planner needs to know about each rollup: from where and until when it is complete, and
// what is pending. The rules are the plain-mode staleness contract in the README's query section.
import { pendingInvalidations, plainRollupMarks, retentionCutoffs } from '../db/sql/query.js';
import type { Store } from '../db/store.js';
import type { Db } from '../db/types.js';
import { ceilToBucket, floorToBucket } from '../util/buckets.js';
import type { RollupState } from './plan.js';

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
    retentionCutoffs(store.mode),
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
  if (store.mode === 'plain') return { rollups: await plainStates(db, base) };
  // Real-time continuous aggregates: complete at any time except for rows changed below the watermark.
  try {
    const { rows } = await db.query<{ source: string; lo: number; hi: number }>(pendingInvalidations);
    // Below its source's retention cutoff an invalidation is the drop itself (drop_chunks logs one per
    // chunk): the source is gone there and the rollup is the only record, so it is not pending.
    const pending = rows
      .filter((r) => Number(r.hi) >= (retention.get(r.source)?.cutoff ?? -Infinity))
      .map((r): [number, number] => [Number(r.lo), Number(r.hi)]);
    // Conservative: a pending range anywhere in the hierarchy disqualifies every rollup over that range.
    return { rollups: base.map((r) => ({ ...r, completeUntil: Infinity, pending })) };
  } catch (err) {
    return {
      rollups: [],
      problem: `cannot read the TimescaleDB invalidation logs (${(err as Error).message}); reading raw data`,
    };
  }
}

/**
 * Plain rollup R is exact for buckets that end at or before min(watermark:R, floor(dirty:F.from)) over R and
 * every finer rollup F: a change below a finer rollup's watermark reaches R only through that rollup.
 */
async function plainStates(
  db: Db,
  base: Array<Omit<RollupState, 'completeUntil' | 'pending'>>,
): Promise<RollupState[]> {
  const { rows } = await db.query<{ kind: string; rollup: string; at: Date | null }>(plainRollupMarks);
  const mark = (kind: string, rollup: string) => {
    const row = rows.find((r) => r.kind === kind && r.rollup === rollup && r.at !== null);
    return row ? new Date(row.at as Date).getTime() : undefined;
  };
  let dirty: RollupState['dirty'];
  return base.map((r) => {
    const from = mark('dirty', r.name);
    if (from !== undefined && (!dirty || from < dirty.from)) dirty = { rollup: r.name, from };
    // No watermark row: nothing is known to be complete, so the rollup is not read at all.
    const watermark = mark('watermark', r.name) ?? -Infinity;
    const dirtyUntil = dirty ? floorToBucket(dirty.from, r.bucketMs) : Infinity;
    return {
      ...r,
      completeUntil: Math.min(watermark, dirtyUntil),
      dirty: dirtyUntil < watermark ? dirty : undefined,
      pending: [],
    };
  });
}
