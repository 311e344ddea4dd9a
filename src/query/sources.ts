// Reads what the planner needs to know about each rollup: how far it is complete and what is pending.
import { pendingInvalidations, plainWatermarks } from '../db/sql/query.js';
import type { Store } from '../db/store.js';
import type { Db } from '../db/types.js';
import type { RollupState } from './plan.js';

export interface RollupStates {
  rollups: RollupState[];
  /** Set when the states could not be read: every rollup is then unusable. */
  problem?: string;
}

export async function loadRollupStates(db: Db, store: Store): Promise<RollupStates> {
  const base = store.rollups.map((r) => ({ name: r.name, bucketMs: r.bucket.ms, bucketText: r.bucket.text }));
  if (store.mode === 'plain') {
    // No watermark row: nothing is known to be complete, so the rollup is not read at all.
    const { rows } = await db.query<{ rollup: string; until: Date | null }>(plainWatermarks);
    const until = new Map(rows.map((r) => [r.rollup, r.until ? new Date(r.until).getTime() : -Infinity]));
    return {
      rollups: base.map((r) => ({ ...r, completeUntil: until.get(r.name) ?? -Infinity, pending: [] })),
    };
  }
  // Real-time continuous aggregates: complete at any time except for rows changed below the watermark.
  try {
    // Conservative: a pending range anywhere in the hierarchy disqualifies every rollup over that range.
    const { rows } = await db.query<{ lo: number; hi: number }>(pendingInvalidations);
    const pending = rows.map((r): [number, number] => [Number(r.lo), Number(r.hi)]);
    return { rollups: base.map((r) => ({ ...r, completeUntil: Infinity, pending })) };
  } catch (err) {
    return {
      rollups: [],
      problem: `cannot read the TimescaleDB invalidation logs (${(err as Error).message}); reading raw data`,
    };
  }
}
