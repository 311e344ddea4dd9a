// Runs one maintenance job and records it in iotctl.job_runs (start, end, status, error), the ledger
// that decides what is due and reports failures: the embedded build's run_job keeps no job_stats.
import { ledgerFinish, ledgerStart } from '../db/sql/maintenance.js';
import type { Db } from '../db/types.js';
import { IotctlError } from '../errors.js';

export interface JobRunResult {
  job: string;
  jobId: number | null;
  status: 'success' | 'failed';
  error: string | null;
  seconds: number;
  details: unknown;
}

/** Runs fn as job `job`; a failure is recorded and returned, not thrown, so other jobs still run. */
export async function runLedgered(
  db: Db,
  job: string,
  jobId: number | null,
  fn: () => Promise<unknown>,
): Promise<JobRunResult> {
  const started = Date.now();
  const { rows } = await db.query<{ id: number }>(ledgerStart(job, jobId));
  const runId = (rows[0] as { id: number }).id;
  let error: string | null = null;
  let details: unknown = null;
  try {
    details = (await fn()) ?? null;
  } catch (err) {
    error = describeFailure(err);
  }
  await db.query(ledgerFinish(runId, error, details));
  return {
    job,
    jobId,
    status: error === null ? 'success' : 'failed',
    error,
    seconds: (Date.now() - started) / 1000,
    details,
  };
}

function describeFailure(err: unknown): string {
  // A missing iotctl relation maps to "not initialised", which says nothing about a job that lost its table.
  if (err instanceof IotctlError && err.code === 'NOT_INITIALISED' && err.cause instanceof Error) {
    return `database error: ${err.cause.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}
