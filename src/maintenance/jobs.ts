// Running policy jobs (the engine's own way), each recorded in the ledger; and deciding which jobs are due.
import { nextStartFrom, type JobInfo } from '../db/jobs.js';
import type { Db } from '../db/types.js';
import type { Store } from '../engine/types.js';
import { loadStore } from '../db/store.js';
import { usageError } from '../errors.js';
import { runLedgered, type JobRunResult } from './ledger.js';
import { withMaintenanceLock } from './lock.js';

export const maintainedKinds: ReadonlyArray<JobInfo['kind']> = ['refresh', 'compression', 'retention'];

/** When iotctl next runs it: one schedule interval after its last run began (null: it never ran, due now). */
export const dueAt = (job: JobInfo): Date | null => nextStartFrom(job.lastRunStarted, job.scheduleSeconds);

export function isDue(job: JobInfo, now: Date): boolean {
  const due = dueAt(job);
  return due === null || due.getTime() <= now.getTime();
}

/** Runs one job now and records it; failures come back in the result. */
export function runOneJob(db: Db, store: Store, job: JobInfo): Promise<JobRunResult> {
  return runLedgered(db, job.name, job.id, () => store.engine.runJob(db, store, job));
}

export function listJobs(db: Db, store: Store): Promise<JobInfo[]> {
  return store.engine.listJobs(db, store);
}

export async function jobs(db: Db): Promise<JobInfo[]> {
  return listJobs(db, await loadStore(db));
}

/** Runs one job by id (TimescaleDB) or name (`refresh:rollup_1h`), recorded in the ledger. */
export async function runJobNow(db: Db, idOrName: string): Promise<JobRunResult> {
  const store = await loadStore(db);
  const all = await listJobs(db, store);
  const job = all.find((j) => j.name === idOrName || (j.id !== null && String(j.id) === idOrName));
  if (!job) {
    throw usageError(
      `no job '${idOrName}'`,
      `jobs here: ${all.map((j) => j.name + (j.id !== null ? ` (${j.id})` : '')).join(', ')}`,
    );
  }
  if (!maintainedKinds.includes(job.kind)) throw usageError(`job ${job.name} is not one iotctl runs`);
  return withMaintenanceLock(db, `jobs run ${job.name}`, () => runOneJob(db, store, job));
}
