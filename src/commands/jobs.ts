// `iotctl jobs` on the command line: flags, the data function in src/maintenance/jobs.ts, a printer.
import type { Command } from 'commander';
import { IotctlError } from '../errors.js';
import { log } from '../output/log.js';
import { printRows } from '../output/render.js';
import { when } from '../output/maintenance.js';
import { examples, globalOptions, withDb } from './common.js';
import { failedJobsError } from '../maintenance/maintain.js';
import { jobs, runJobNow } from '../maintenance/jobs.js';

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
