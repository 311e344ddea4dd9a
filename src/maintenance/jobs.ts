// Running policy jobs: TimescaleDB's own job procedure via run_job, or iotctl's plain-mode equivalent,
// each recorded in the ledger; and deciding which jobs are due.
import { nextStartFrom, type JobInfo } from '../db/jobs.js';
import { runJob as runJobSql } from '../db/sql/timescale.js';
import type { Store } from '../db/store.js';
import type { Db } from '../db/types.js';
import { runLedgered, type JobRunResult } from './ledger.js';
import { applyRetention, dbCutoff, retentionTarget } from './retention.js';
import { refreshRollup } from './rollups.js';

export const maintainedKinds: ReadonlyArray<JobInfo['kind']> = ['refresh', 'compression', 'retention'];

/** When iotctl next runs it: one schedule interval after its last run began (null: it never ran, due now). */
export const dueAt = (job: JobInfo): Date | null => nextStartFrom(job.lastRunStarted, job.scheduleSeconds);

export function isDue(job: JobInfo, now: Date): boolean {
  const due = dueAt(job);
  return due === null || due.getTime() <= now.getTime();
}

async function runPlainJob(db: Db, store: Store, job: JobInfo): Promise<unknown> {
  if (job.kind === 'refresh') {
    const rollup = store.rollups.find((r) => r.name === job.target);
    if (!rollup) throw new Error(`rollup ${job.target} is not in this store's configuration`);
    return refreshRollup(db, store, rollup);
  }
  if (job.kind === 'retention') {
    const target = retentionTarget(store, job.target === 'points' ? undefined : job.target);
    const run = await applyRetention(db, store, target, await dbCutoff(db, job.after as string));
    return { cutoff: run.cutoff, dropped: run.dropped, heldBack: run.heldBack };
  }
  throw new Error(`iotctl cannot run a ${job.kind} job in plain PostgreSQL mode`);
}

/** Runs one job now and records it; failures come back in the result. */
export function runOneJob(db: Db, store: Store, job: JobInfo): Promise<JobRunResult> {
  return runLedgered(db, job.name, job.id, async () => {
    if (store.mode === 'timescaledb' && job.id !== null) {
      // Its own statement, no transaction around it: the policy procedures commit as they go.
      await db.query(runJobSql(job.id));
      return null;
    }
    return runPlainJob(db, store, job);
  });
}
