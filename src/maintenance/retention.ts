// Which chunks retention drops, and dropping them: one listing serves `--dry-run` and the real run,
// so the dry run shows exactly what goes. Only chunks entirely older than the cutoff are touched.
import {
  cutoffAgo,
  deletePlainRollupExpired,
  dropChunksOlderThan,
  dropPartition,
  plainPartitions,
  plainRollupExpired,
  tsdbChunks,
  type ChunkRow,
} from '../db/sql/maintenance.js';
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

export async function expiredChunks(
  db: Db,
  store: Store,
  target: RetentionTarget,
  cutoff: Date,
): Promise<ChunkRow[]> {
  if (store.mode === 'timescaledb') {
    return (await db.query<ChunkRow>(tsdbChunks(store.tsdb!, qualified(target.name), cutoff))).rows;
  }
  if (target.rollup)
    return (await db.query<ChunkRow>(plainRollupExpired(target.name, target.rollup.bucket, cutoff))).rows;
  return (await db.query<ChunkRow>(plainPartitions(cutoff))).rows;
}

export interface RetentionRun {
  target: string;
  cutoff: Date;
  chunks: ChunkRow[];
  /** What the database reports it dropped (the chunk names, or the rollup table for plain rollups). */
  dropped: string[];
}

export async function applyRetention(
  db: Db,
  store: Store,
  target: RetentionTarget,
  cutoff: Date,
): Promise<RetentionRun> {
  const chunks = await expiredChunks(db, store, target, cutoff);
  const dropped: string[] = [];
  if (store.mode === 'timescaledb') {
    const res = await db.query<{ chunk: string }>(dropChunksOlderThan(qualified(target.name), cutoff));
    dropped.push(...res.rows.map((r) => r.chunk));
  } else if (target.rollup) {
    if (chunks.length) {
      await db.query(deletePlainRollupExpired(target.name, target.rollup.bucket, cutoff));
      dropped.push(qualified(target.name));
    }
  } else {
    for (const c of chunks) {
      await db.exec(dropPartition(c.chunk));
      dropped.push(c.chunk);
    }
  }
  return { target: target.name, cutoff, chunks, dropped };
}

/** now() - age by the database's clock, so a skewed client clock cannot widen what is dropped. */
export async function dbCutoff(db: Db, age: string): Promise<Date> {
  const { rows } = await db.query<{ cutoff: Date }>(cutoffAgo(age));
  return new Date((rows[0] as { cutoff: Date }).cutoff);
}
