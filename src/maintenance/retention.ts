// Which chunks retention drops, and dropping them: one listing serves `--dry-run` and the real run,
// so the dry run shows exactly what goes. Only chunks entirely older than the cutoff are touched, and the
// engine may hold the cutoff back (plain mode: to where the next rollup has taken the rows in).
import { cutoffAgo, type ChunkRow } from '../db/sql/maintenance.js';
import type { Db } from '../db/types.js';
import type { HeldBack, RetentionTarget, Rollup, Store } from '../engine/types.js';
import { selectRollups } from './rollups.js';

export type { HeldBack, RetentionTarget } from '../engine/types.js';

/** `--rollup 1h` (or rollup_1h) targets that rollup; no rollup targets the raw readings. */
export function retentionTarget(store: Store, rollup?: string): RetentionTarget {
  if (!rollup) return { name: 'points' };
  const r = selectRollups(store, [rollup])[0] as Rollup;
  return { name: r.name, rollup: r };
}

export interface RetentionRun {
  target: string;
  cutoff: Date;
  chunks: ChunkRow[];
  /** What the database reports it dropped (the chunk names, or the rollup table for plain rollups). */
  dropped: string[];
  /** Set when the cutoff was held back because a rollup has not taken the rows in yet. */
  heldBack: HeldBack | null;
}

/** What a run with this cutoff drops (dryRun) or drops it. */
export async function applyRetention(
  db: Db,
  store: Store,
  target: RetentionTarget,
  cutoff: Date,
  dryRun = false,
): Promise<RetentionRun> {
  const engine = store.engine;
  const limit = await engine.retentionLimit(db, store, target, cutoff);
  const chunks = limit.cutoff ? await engine.listExpired(db, target, limit.cutoff) : [];
  const dropped = dryRun || !limit.cutoff ? [] : await engine.dropExpired(db, target, limit.cutoff, chunks);
  return { target: target.name, cutoff, chunks, dropped, heldBack: limit.heldBack };
}

/** now() - age by the database's clock, so a skewed client clock cannot widen what is dropped. */
export async function dbCutoff(db: Db, age: string): Promise<Date> {
  const { rows } = await db.query<{ cutoff: Date }>(cutoffAgo(age));
  return new Date((rows[0] as { cutoff: Date }).cutoff);
}
