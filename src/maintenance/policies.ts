// Compression, retention and refresh policies: the rules every engine shares, and the entry points commands
// call. Each engine keeps its policies its own way (TimescaleDB jobs, or rows of iotctl.policies in plain mode);
// setting is idempotent and a different interval replaces the policy.
import { jobName, type JobInfo } from '../db/jobs.js';
import type { Db } from '../db/types.js';
import type { PolicyChange, PolicyKind, Store } from '../engine/types.js';
import { type Duration } from '../util/duration.js';

export type { PolicyChange, PolicyKind } from '../engine/types.js';
export { jobName };
export { refreshStartOffset, rollupSource, sameInterval } from '../engine/common.js';
import { compressionUnsupported } from '../engine/common.js';

/** Compression needs an engine that compresses: NEEDS_TIMESCALEDB otherwise. */
export function needsCompression(store: Store, what: string): void {
  if (!store.engine.compresses) throw compressionUnsupported(what, store.engine.label);
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
