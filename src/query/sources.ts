// Reads what the planner needs to know about each rollup: from where and until when it is complete, and
// what is pending. The rules are the plain-mode staleness contract in the README's query section.
import type { Db } from '../db/types.js';
import type { RollupCompleteness, Store } from '../engine/types.js';
import { ceilToBucket } from '../util/buckets.js';
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
