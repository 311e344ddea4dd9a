// Compression, retention and refresh policies: TimescaleDB jobs on TimescaleDB, rows of
// iotctl.policies in plain mode. Setting is idempotent; a different interval replaces the policy.
import { listJobs, jobName, type JobInfo } from '../db/jobs.js';
import { qualified } from '../db/sql/ident.js';
import {
  deletePlainPolicy,
  plainPolicyExists,
  sameInterval as sameIntervalSql,
  tsdbRefreshPolicies,
  tsdbRetentionAges,
  upsertPlainPolicy,
} from '../db/sql/maintenance.js';
import {
  addCompressionPolicy,
  addRefreshPolicy,
  addRetentionPolicy,
  removeCompressionPolicy,
  removeRefreshPolicy,
  removeRetentionPolicy,
} from '../db/sql/timescale.js';
import type { Store } from '../db/store.js';
import type { Db, Sql } from '../db/types.js';
import { IotctlError, usageError } from '../errors.js';
import { log } from '../output/log.js';
import { formatDurationMs, parseDuration, type Duration } from '../util/duration.js';

export type PolicyKind = 'compression' | 'retention' | 'refresh';

export interface PolicyChange {
  job: string;
  kind: PolicyKind;
  target: string;
  /** compress_after / drop_after, or the refresh schedule. */
  value: string;
  status: 'created' | 'updated' | 'unchanged' | 'removed' | 'absent';
}

export function needsTimescale(store: Store, what: string): void {
  if (store.mode !== 'timescaledb') {
    throw new IotctlError(
      'NEEDS_TIMESCALEDB',
      `${what} needs TimescaleDB; this store is in plain PostgreSQL mode`,
      {
        hint: 'plain PostgreSQL partitions stay uncompressed; use a server with the timescaledb extension (or the embedded database)',
      },
    );
  }
}

export async function findPolicy(
  db: Db,
  store: Store,
  kind: PolicyKind,
  target: string,
): Promise<JobInfo | undefined> {
  const name = jobName(kind, target);
  const jobs = await listJobs(db, store);
  // Plain refresh jobs exist for every rollup: only an explicit row in iotctl.policies is a policy.
  if (store.mode === 'plain' && kind === 'refresh') {
    const { rows } = await db.query(plainPolicyExists('refresh', target));
    if (!rows.length) return undefined;
  }
  return jobs.find((j) => j.name === name);
}

async function sameInterval(db: Db, a: string | null, b: string): Promise<boolean> {
  if (a === null) return false;
  const { rows } = await db.query<{ same: boolean }>(sameIntervalSql(a, b));
  return !!rows[0]?.same;
}

type Rollup = Store['rollups'][number];

/** What a rollup is refreshed from: `points` for the finest, the next finer rollup otherwise. */
export function rollupSource(store: Store, rollup: Rollup): string {
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

/**
 * TimescaleDB: the start_offset each rollup's refresh policy needs, by rollup name, from the retention
 * policies in force, or with `override` (a retention being set, or removed with ms null) in their place.
 */
export async function refreshStartOffsets(
  db: Db,
  store: Store,
  override?: { target: string; ms: number | null },
): Promise<Map<string, Duration | null>> {
  const ages = new Map(
    (await db.query<{ target: string; ms: number }>(tsdbRetentionAges())).rows.map((r) => [r.target, r.ms]),
  );
  if (override?.ms === null) ages.delete(override.target);
  else if (override) ages.set(override.target, override.ms);
  return new Map(
    store.rollups.map((r) => {
      const source = rollupSource(store, r);
      return [r.name, refreshStartOffset(r, source, ages.get(source) ?? null)];
    }),
  );
}

/**
 * TimescaleDB: re-creates every refresh policy whose start_offset is not the one the retention of its
 * source needs (after a retention policy is set or removed, and at init). Returns the rollups changed.
 */
export async function syncRefreshPolicies(db: Db, store: Store): Promise<string[]> {
  if (store.mode !== 'timescaledb') return [];
  const wanted = await refreshStartOffsets(db, store);
  const current = (
    await db.query<{ rollup: string; schedule: string; start_ms: number | null }>(tsdbRefreshPolicies())
  ).rows;
  const changed: string[] = [];
  for (const p of current) {
    const rollup = store.rollups.find((r) => r.name === p.rollup);
    if (!rollup) continue;
    const want = wanted.get(rollup.name) ?? null;
    if ((want?.ms ?? null) === (p.start_ms === null ? null : Math.round(p.start_ms))) continue;
    const relation = qualified(rollup.name);
    await db.transaction(async (tx) => {
      await tx.query(removeRefreshPolicy(relation));
      await tx.query(
        addRefreshPolicy(relation, rollup.bucket.interval, p.schedule, store.tsdb, want?.interval ?? null),
      );
    });
    log.info(
      `refresh policy on ${rollup.name}: ${want ? `start_offset ${want.text} (its source keeps less history)` : 'open start'}`,
    );
    changed.push(rollup.name);
  }
  return changed;
}

async function addStatement(
  db: Db,
  store: Store,
  kind: PolicyKind,
  target: string,
  value: Duration,
): Promise<Sql> {
  const relation = qualified(target);
  if (kind === 'compression') return addCompressionPolicy(store.tsdb!, relation, value.interval);
  if (kind === 'retention') return addRetentionPolicy(relation, value.interval);
  const rollup = store.rollups.find((r) => r.name === target) as Rollup;
  const start = (await refreshStartOffsets(db, store)).get(target) ?? null;
  return addRefreshPolicy(
    relation,
    rollup.bucket.interval,
    value.interval,
    store.tsdb,
    start?.interval ?? null,
  );
}

function removeStatement(store: Store, kind: PolicyKind, target: string): Sql {
  const relation = qualified(target);
  if (kind === 'compression') return removeCompressionPolicy(store.tsdb!, relation);
  if (kind === 'retention') return removeRetentionPolicy(relation);
  return removeRefreshPolicy(relation);
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
  if (kind === 'compression') needsTimescale(store, 'compression');
  const existing = await findPolicy(db, store, kind, target);
  const current = existing ? (kind === 'refresh' ? existing.schedule : existing.after) : null;
  const change = { job: jobName(kind, target), kind, target, value: value.text };
  const tsdbRetention = store.mode === 'timescaledb' && kind === 'retention';
  // Before anything changes: a retention too short for the rollup refreshed from the target is refused.
  if (tsdbRetention) await refreshStartOffsets(db, store, { target, ms: value.ms });
  if (existing && (await sameInterval(db, current, value.interval))) {
    if (tsdbRetention) await syncRefreshPolicies(db, store);
    return { ...change, status: 'unchanged' };
  }
  if (store.mode === 'timescaledb') {
    const add = await addStatement(db, store, kind, target, value);
    // One transaction: a failing add leaves the old policy in place.
    await db.transaction(async (tx) => {
      if (existing) await tx.query(removeStatement(store, kind, target));
      await tx.query(add);
    });
    if (tsdbRetention) await syncRefreshPolicies(db, store);
  } else {
    const rollup = store.rollups.find((r) => r.name === target);
    // Plain refresh rows keep the bucket as `after` (the column is NOT NULL); the schedule is what counts.
    const [after, schedule] =
      kind === 'refresh'
        ? [rollup?.bucket.interval ?? value.interval, value.interval]
        : [value.interval, '1 day'];
    await db.query(upsertPlainPolicy(kind, target, after, schedule));
  }
  return { ...change, status: existing ? 'updated' : 'created' };
}

export async function removePolicy(
  db: Db,
  store: Store,
  kind: PolicyKind,
  target: string,
): Promise<PolicyChange> {
  if (kind === 'compression') needsTimescale(store, 'compression');
  const existing = await findPolicy(db, store, kind, target);
  const change = {
    job: jobName(kind, target),
    kind,
    target,
    value: existing?.after ?? existing?.schedule ?? '',
  };
  if (!existing) return { ...change, status: 'absent' };
  if (store.mode === 'timescaledb') {
    await db.query(removeStatement(store, kind, target));
    if (kind === 'retention') await syncRefreshPolicies(db, store);
  } else {
    await db.query(deletePlainPolicy(kind, target));
  }
  return { ...change, status: 'removed' };
}

/** The policies of one kind, as jobs (with their health). */
export async function showPolicies(db: Db, store: Store, kind: PolicyKind): Promise<JobInfo[]> {
  return (await listJobs(db, store)).filter((j) => j.kind === kind);
}
