// Which chunks retention drops, and dropping them: one listing serves `--dry-run` and the real run,
// so the dry run shows exactly what goes. Only chunks entirely older than the cutoff are touched; in plain
// mode nothing the next rollup has not yet taken in is dropped either (the cutoff is held back to it).
import {
  cutoffAgo,
  deletePlainRollupExpired,
  dropChunksOlderThan,
  dropPartition,
  plainRollupExpired,
  readCompleteUntil,
  tsdbChunks,
  type ChunkRow,
} from '../db/sql/maintenance.js';
import { partitionsSql } from '../db/sql/partitions.js';
import { qualified } from '../db/sql/ident.js';
import type { Store } from '../db/store.js';
import type { Db } from '../db/types.js';
import { selectRollups } from './rollups.js';

export interface RetentionTarget {
  /** `points` or a rollup name. */
  name: string;
  rollup?: Store['rollups'][number];
}

/** `--rollup 1h` (or rollup_1h) targets that rollup; no rollup targets the raw readings. */
export function retentionTarget(store: Store, rollup?: string): RetentionTarget {
  if (!rollup) return { name: 'points' };
  const r = selectRollups(store, [rollup])[0] as Store['rollups'][number];
  return { name: r.name, rollup: r };
}

/** Plain mode: the rollup built on the target, which must have taken rows in before they may go. */
function dependentRollup(store: Store, target: RetentionTarget): Store['rollups'][number] | undefined {
  if (!target.rollup) return store.rollups[0];
  return store.rollups[store.rollups.findIndex((r) => r.name === target.name) + 1];
}

/** Why a plain-mode cutoff was held back: the dependent rollup is complete only until `until` (null: never). */
export interface HeldBack {
  rollup: string;
  until: Date | null;
}

/**
 * The cutoff actually applied: in plain mode no later than where the rollup built on the target is complete
 * (its watermark, or where late readings made it dirty); null when nothing may be dropped.
 */
async function effectiveCutoff(
  db: Db,
  store: Store,
  target: RetentionTarget,
  cutoff: Date,
): Promise<{ cutoff: Date | null; heldBack: HeldBack | null }> {
  const rollup = store.mode === 'plain' ? dependentRollup(store, target) : undefined;
  if (!rollup) return { cutoff, heldBack: null };
  const { rows } = await db.query<{ until: Date | null }>(readCompleteUntil(rollup.name));
  const until = rows[0]?.until ? new Date(rows[0].until) : null;
  if (until !== null && until >= cutoff) return { cutoff, heldBack: null };
  return { cutoff: until, heldBack: { rollup: rollup.name, until } };
}

async function listExpired(db: Db, store: Store, target: RetentionTarget, cutoff: Date): Promise<ChunkRow[]> {
  if (store.mode === 'timescaledb') {
    return (await db.query<ChunkRow>(tsdbChunks(store.tsdb!, qualified(target.name), cutoff))).rows;
  }
  if (target.rollup)
    return (await db.query<ChunkRow>(plainRollupExpired(target.name, target.rollup.bucket, cutoff))).rows;
  return (await db.query<ChunkRow>(partitionsSql(cutoff))).rows;
}

export interface RetentionRun {
  target: string;
  cutoff: Date;
  chunks: ChunkRow[];
  /** What the database reports it dropped (the chunk names, or the rollup table for plain rollups). */
  dropped: string[];
  /** Plain mode: set when the cutoff was held back because a rollup has not taken the rows in yet. */
  heldBack: HeldBack | null;
}

async function drop(
  db: Db,
  store: Store,
  target: RetentionTarget,
  cutoff: Date,
  chunks: ChunkRow[],
): Promise<string[]> {
  if (store.mode === 'timescaledb') {
    const res = await db.query<{ chunk: string }>(dropChunksOlderThan(qualified(target.name), cutoff));
    return res.rows.map((r) => r.chunk);
  }
  if (target.rollup) {
    if (!chunks.length) return [];
    await db.query(deletePlainRollupExpired(target.name, target.rollup.bucket, cutoff));
    return [qualified(target.name)];
  }
  for (const c of chunks) await db.exec(dropPartition(c.chunk));
  return chunks.map((c) => c.chunk);
}

/** What a run with this cutoff drops (dryRun) or drops it. */
export async function applyRetention(
  db: Db,
  store: Store,
  target: RetentionTarget,
  cutoff: Date,
  dryRun = false,
): Promise<RetentionRun> {
  const limit = await effectiveCutoff(db, store, target, cutoff);
  const chunks = limit.cutoff ? await listExpired(db, store, target, limit.cutoff) : [];
  const dropped = dryRun || !limit.cutoff ? [] : await drop(db, store, target, limit.cutoff, chunks);
  return { target: target.name, cutoff, chunks, dropped, heldBack: limit.heldBack };
}

/** now() - age by the database's clock, so a skewed client clock cannot widen what is dropped. */
export async function dbCutoff(db: Db, age: string): Promise<Date> {
  const { rows } = await db.query<{ cutoff: Date }>(cutoffAgo(age));
  return new Date((rows[0] as { cutoff: Date }).cutoff);
}
