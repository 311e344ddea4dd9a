// Compression, retention and refresh policies: TimescaleDB jobs on TimescaleDB, rows of
// iotctl.policies in plain mode. Setting is idempotent; a different interval replaces the policy.
import { listJobs, jobName, type JobInfo } from '../db/jobs.js';
import { qualified } from '../db/sql/ident.js';
import {
  deletePlainPolicy,
  plainPolicyExists,
  sameInterval as sameIntervalSql,
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
import { IotctlError } from '../errors.js';
import type { Duration } from '../util/duration.js';

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

function addStatement(store: Store, kind: PolicyKind, target: string, value: Duration): Sql {
  const relation = qualified(target);
  if (kind === 'compression') return addCompressionPolicy(store.tsdb!, relation, value.interval);
  if (kind === 'retention') return addRetentionPolicy(relation, value.interval);
  const rollup = store.rollups.find((r) => r.name === target) as Store['rollups'][number];
  return addRefreshPolicy(relation, rollup.bucket.interval, value.interval, store.tsdb);
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
  if (existing && (await sameInterval(db, current, value.interval)))
    return { ...change, status: 'unchanged' };
  if (store.mode === 'timescaledb') {
    // One transaction: a failing add leaves the old policy in place.
    await db.transaction(async (tx) => {
      if (existing) await tx.query(removeStatement(store, kind, target));
      await tx.query(addStatement(store, kind, target, value));
    });
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
  } else {
    await db.query(deletePlainPolicy(kind, target));
  }
  return { ...change, status: 'removed' };
}

/** The policies of one kind, as jobs (with their health). */
export async function showPolicies(db: Db, store: Store, kind: PolicyKind): Promise<JobInfo[]> {
  return (await listJobs(db, store)).filter((j) => j.kind === kind);
}
