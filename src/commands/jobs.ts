// `iotctl jobs`: every policy job with its schedule and health; `iotctl jobs run ID|NAME` runs one now.
import type { Command } from 'commander';
import type { JobInfo } from '../db/jobs.js';
import { loadStore } from '../db/store.js';
import type { Db } from '../db/types.js';
import { IotctlError, usageError } from '../errors.js';
import { log } from '../output/log.js';
import { printRows } from '../output/render.js';
import type { JobRunResult } from '../maintenance/ledger.js';
import { listJobs, maintainedKinds, runOneJob } from '../maintenance/jobs.js';
import { withMaintenanceLock } from '../maintenance/lock.js';
import { when } from '../output/maintenance.js';
import { examples, globalOptions, withDb } from './common.js';
import { failedJobsError } from './maintain.js';

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

export function registerJobs(program: Command): void {
  const cmd = program
    .command('jobs')
    .description(
      'list the policy jobs with schedule, last run, status and latest error (exit 5 when one is failing)',
    )
    .action(async (_o, command: Command) => {
      const g = globalOptions(command);
      const list = await withDb(g, (db) => jobs(db));
      await printRows(g.format, list, [
        { key: 'name', header: 'job' },
        { key: 'id', format: (v) => (v === null ? '-' : String(v)) },
        { key: 'schedule', format: (v) => String(v ?? '-') },
        { key: 'after', format: (v) => String(v ?? '-') },
        { key: 'lastRunStarted', header: 'last run', format: when },
        { key: 'lastSuccess', header: 'last success', format: when },
        { key: 'lastStatus', header: 'status', format: (v) => String(v ?? 'never run') },
        { key: 'nextStart', header: 'next start', format: (v) => (v ? when(v) : 'due') },
        { key: 'totalFailures', header: 'failures', align: 'right' },
        { key: 'lastError', header: 'latest error', format: (v) => String(v ?? '') },
      ]);
      const failing = list.filter((j) => j.failing);
      if (failing.length) {
        throw new IotctlError(
          'CHECK_FAILED',
          failing.map((j) => `job ${j.name} is failing: ${j.lastError}`).join('; '),
        );
      }
    });
  const run = cmd
    .command('run <job>')
    .description('run one job now, by id or name (e.g. 1002 or refresh:rollup_1h)')
    .action(async (job: string, _o, command: Command) => {
      const g = globalOptions(command);
      const result = await withDb(g, (db) => runJobNow(db, job));
      if (g.format === 'table') log.info(`${result.job}: ${result.status} in ${result.seconds.toFixed(2)} s`);
      await printRows(
        g.format,
        g.format === 'table' ? [] : [result],
        [{ key: 'job' }, { key: 'jobId' }, { key: 'status' }, { key: 'seconds' }, { key: 'error' }],
        result,
      );
      if (result.status === 'failed') throw failedJobsError([result]);
    });
  examples(cmd, [
    'iotctl jobs',
    'iotctl jobs --json',
    'iotctl jobs run 1002',
    'iotctl jobs run refresh:rollup_1h',
  ]);
  examples(run, ['iotctl jobs run compression:points']);
}
