// Which chunks retention drops, and dropping them: one listing serves `--dry-run` and the real run,
// so the dry run shows exactly what goes. Only chunks entirely older than the cutoff are touched, and the
// engine may hold the cutoff back (plain mode: to where the next rollup has taken the rows in).
import type { ChunkRow } from '../db/sql/maintenance.js';
import { applyRetention, dbCutoff, retentionTarget } from '../engine/common.js';
import type { Db } from '../db/types.js';
import type { HeldBack } from '../engine/types.js';
import { loadStore } from '../db/store.js';
import { usageError } from '../errors.js';
import type { Duration } from '../util/duration.js';
import { withMaintenanceLock } from './lock.js';
import { findPolicy } from './policies.js';

export type { HeldBack, RetentionTarget } from '../engine/types.js';
export type { RetentionRun } from '../engine/common.js';
export { applyRetention, dbCutoff, retentionTarget };

export interface RetentionResult {
  target: string;
  dryRun: boolean;
  olderThan: string;
  cutoff: Date;
  chunks: Array<{
    chunk: string;
    rangeStart: Date;
    rangeEnd: Date;
    rowsEstimate: number | null;
    bytes: number;
  }>;
  dropped: string[];
  /**
   * Plain mode: set when the cutoff was held back to where the rollup built on the target is complete
   * (`until`; null when it was never refreshed), so no reading is dropped before it reached the rollups.
   */
  heldBack: HeldBack | null;
}

/**
 * Drops (or with dryRun lists) the chunks of the readings or a rollup entirely older than --older-than,
 * or the policy's drop-after. Without a policy a real run must be confirmed with `yes`.
 */
export async function retentionRun(
  db: Db,
  opts: { olderThan?: Duration; rollup?: string; dryRun: boolean; yes: boolean },
): Promise<RetentionResult> {
  const store = await loadStore(db);
  const target = retentionTarget(store, opts.rollup);
  const policy = await findPolicy(db, store, 'retention', target.name);
  const age = opts.olderThan?.interval ?? policy?.after;
  if (!age) {
    throw usageError(
      `no retention policy on ${target.name}: give --older-than`,
      'or set one: iotctl retention policy set --drop-after 90d',
    );
  }
  if (!policy && !opts.dryRun && !opts.yes) {
    throw usageError(
      `there is no retention policy on ${target.name}; dropping data by hand needs --yes`,
      'run with --dry-run first to see what would go',
    );
  }
  const cutoff = await dbCutoff(db, age);
  const run = opts.dryRun
    ? await applyRetention(db, store, target, cutoff, true)
    : await withMaintenanceLock(db, 'retention run', () => applyRetention(db, store, target, cutoff));
  return {
    target: target.name,
    dryRun: opts.dryRun,
    olderThan: age,
    cutoff,
    chunks: run.chunks.map((c: ChunkRow) => ({
      chunk: c.chunk,
      rangeStart: c.range_start,
      rangeEnd: c.range_end,
      rowsEstimate: c.rows_estimate,
      bytes: c.bytes,
    })),
    dropped: run.dropped,
    heldBack: run.heldBack,
  };
}
