// Compression, retention and refresh policies: the rules every engine shares, and the entry points commands
// call. Each engine keeps its policies its own way (TimescaleDB jobs, or rows of iotctl.policies in plain mode);
// setting is idempotent and a different interval replaces the policy.
import { jobName, type JobInfo } from '../db/jobs.js';
import { sameInterval as sameIntervalSql } from '../db/sql/maintenance.js';
import type { Db } from '../db/types.js';
import type { PolicyChange, PolicyKind, Rollup, Store } from '../engine/types.js';
import { IotctlError, usageError } from '../errors.js';
import { formatDurationMs, parseDuration, type Duration } from '../util/duration.js';

export type { PolicyChange, PolicyKind } from '../engine/types.js';
export { jobName };

/** Compression needs an engine that compresses: NEEDS_TIMESCALEDB otherwise. */
export function needsCompression(store: Store, what: string): void {
  if (!store.engine.compresses) {
    throw new IotctlError(
      'NEEDS_TIMESCALEDB',
      `${what} needs TimescaleDB; this store is in ${store.engine.label}`,
      {
        hint: 'plain PostgreSQL partitions stay uncompressed; use a server with the timescaledb extension (or the embedded database)',
      },
    );
  }
}

export async function sameInterval(db: Db, a: string | null, b: string): Promise<boolean> {
  if (a === null) return false;
  const { rows } = await db.query<{ same: boolean }>(sameIntervalSql(a, b));
  return !!rows[0]?.same;
}

/** What a rollup is refreshed from: `points` for the finest, the next finer rollup otherwise. */
export function rollupSource(store: Pick<Store, 'rollups'>, rollup: Rollup): string {
  const i = store.rollups.findIndex((r) => r.name === rollup.name);
  return i > 0 ? (store.rollups[i - 1] as Rollup).name : 'points';
}

/**
 * Margin between a source's retention and the start_offset of the refresh reading it, in rollup buckets:
 * one because a refresh window widens to whole buckets, one as slack for the time between a retention run
 * and the next refresh. A refresh over chunks drop_chunks removed deletes the rollup's rows for them.
 */
const START_OFFSET_MARGIN_BUCKETS = 2;

/** TimescaleDB: the start_offset a rollup's refresh needs when its source keeps `sourceRetentionMs` (null: none). */
export function refreshStartOffset(
  rollup: Rollup,
  source: string,
  sourceRetentionMs: number | null,
): Duration | null {
  if (sourceRetentionMs === null) return null;
  const bucket = rollup.bucket.ms;
  const ms = sourceRetentionMs - START_OFFSET_MARGIN_BUCKETS * bucket;
  // The window [start_offset, end_offset = one bucket] must span at least two buckets.
  const least = 3 * bucket;
  if (ms < least) {
    throw usageError(
      `a retention of ${formatDurationMs(sourceRetentionMs)} on ${source} is too short for ${rollup.name}, which is refreshed from it`,
      `keep ${source} at least ${formatDurationMs(least + START_OFFSET_MARGIN_BUCKETS * bucket)}`,
    );
  }
  return parseDuration(formatDurationMs(ms));
}

export async function findPolicy(
  db: Db,
  store: Store,
  kind: PolicyKind,
  target: string,
): Promise<JobInfo | undefined> {
  return store.engine.findPolicy(db, store, kind, target);
}

/**
 * Creates the policy, or replaces it when its interval differs. `value` is the age for compression and
 * retention and the schedule for refresh.
 */
export async function setPolicy(
  db: Db,
  store: Store,
  kind: PolicyKind,
  target: string,
  value: Duration,
): Promise<PolicyChange> {
  if (kind === 'compression') needsCompression(store, 'compression');
  return store.engine.setPolicy(db, store, kind, target, value);
}

export async function removePolicy(
  db: Db,
  store: Store,
  kind: PolicyKind,
  target: string,
): Promise<PolicyChange> {
  if (kind === 'compression') needsCompression(store, 'compression');
  return store.engine.removePolicy(db, store, kind, target);
}

/** The policies of one kind, as jobs (with their health). */
export async function showPolicies(db: Db, store: Store, kind: PolicyKind): Promise<JobInfo[]> {
  return (await store.engine.listJobs(db, store)).filter((j) => j.kind === kind);
}
