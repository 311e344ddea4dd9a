// `iotctl maintain`: the one cron entry. Runs the policy jobs that are due (refresh, compression,
// retention), records each in the ledger, and creates plain-mode partitions ahead of time.
import type { EngineName } from '../engine/types.js';
import { ledgerMarkInterrupted, ledgerPrune } from '../db/sql/maintenance.js';
import { loadStore } from '../db/store.js';
import type { Db } from '../db/types.js';
import { IotctlError } from '../errors.js';
import type { JobRunResult } from './ledger.js';
import { dueAt, isDue, listJobs, maintainedKinds, runOneJob } from './jobs.js';
import { withMaintenanceLock } from './lock.js';
export { MAINTENANCE_LOCK_KEY } from '../db/sql/maintenance.js';

export interface MaintainOptions {
  dryRun: boolean;
  force: boolean;
  /** Progress and warnings (a job starting, a job failing, interrupted runs). */
  onNotice?: (message: string, level: 'info' | 'warn') => void;
}

export interface MaintainResult {
  target: string;
  mode: EngineName;
  dryRun: boolean;
  force: boolean;
  /** Jobs run (or, with --dry-run, that would run), in order. */
  jobs: Array<{
    job: string;
    id: number | null;
    status: 'success' | 'failed' | 'would run';
    error: string | null;
    seconds: number | null;
  }>;
  /**
   * Jobs not yet due, with when they are; `failing` when their last run failed (on a server, possibly a run
   * of the TimescaleDB scheduler): maintain then exits 5 as status does.
   */
  notDue: Array<{ job: string; id: number | null; due: Date | null; failing: boolean; error: string | null }>;
  partitionsCreated: number;
  failed: number;
}

export async function maintain(db: Db, opts: MaintainOptions): Promise<MaintainResult> {
  const notice = opts.onNotice ?? (() => undefined);
  return withMaintenanceLock(db, 'maintain', async () => {
    const store = await loadStore(db);
    if (!opts.dryRun) {
      // We hold the lock, so no run is in progress: a 'running' row is one that was killed.
      const interrupted = await db.query(ledgerMarkInterrupted());
      if (interrupted.rowCount)
        notice(`${interrupted.rowCount} earlier job run(s) did not finish; marked failed`, 'warn');
      await db.query(ledgerPrune());
    }
    const now = new Date();
    const all = (await listJobs(db, store)).filter((j) => maintainedKinds.includes(j.kind));
    const due = all.filter((j) => opts.force || isDue(j, now));
    const result: MaintainResult = {
      target: db.target.display,
      mode: store.mode,
      dryRun: opts.dryRun,
      force: opts.force,
      jobs: [],
      notDue: all
        .filter((j) => !due.includes(j))
        .map((j) => ({
          job: j.name,
          id: j.id,
          due: dueAt(j),
          failing: j.failing,
          error: j.failing ? j.lastError : null,
        })),
      partitionsCreated: 0,
      failed: 0,
    };
    for (const job of due) {
      if (opts.dryRun) {
        result.jobs.push({ job: job.name, id: job.id, status: 'would run', error: null, seconds: null });
        continue;
      }
      notice(`running ${job.name}${job.id !== null ? ` (job ${job.id})` : ''}...`, 'info');
      const run: JobRunResult = await runOneJob(db, store, job);
      if (run.status === 'failed') notice(`${job.name} failed: ${run.error}`, 'warn');
      result.jobs.push({
        job: run.job,
        id: run.jobId,
        status: run.status,
        error: run.error,
        seconds: run.seconds,
      });
    }
    if (!opts.dryRun) result.partitionsCreated = await store.engine.maintainExtras(db, store, now.getTime());
    result.failed = result.jobs.filter((j) => j.status === 'failed').length;
    return result;
  });
}

/** Exit 5 naming every failed job and its error, after the summary has been printed. */
export function failedJobsError(
  jobs: Array<{ job: string; status: string; error: string | null }>,
  failing: Array<{ job: string; error: string | null }> = [],
): IotctlError {
  const failed = jobs.filter((j) => j.status === 'failed');
  const messages = [
    ...failed.map((j) => `job ${j.job} failed: ${j.error}`),
    ...failing.map(
      (j) =>
        `job ${j.job} is failing (its last run, not due again yet, failed): ${j.error ?? 'unknown error'}`,
    ),
  ];
  return new IotctlError('CHECK_FAILED', messages.join('; '), {
    hint: 'see `iotctl jobs` for the history; fix the cause and run `iotctl maintain --force` or `iotctl jobs run NAME`',
  });
}
