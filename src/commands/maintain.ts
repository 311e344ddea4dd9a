// `iotctl maintain` on the command line: flags, the data function in src/maintenance/maintain.ts, a printer.
import type { Command } from 'commander';
import { log } from '../output/log.js';
import { printMaintainResult } from '../output/maintain.js';
import { examples, globalOptions, withDb } from './common.js';
export { MAINTENANCE_LOCK_KEY } from '../db/sql/maintenance.js';
import { MaintainOptions, maintain, failedJobsError } from '../maintenance/maintain.js';

export function registerMaintain(program: Command): void {
  const cmd = program
    .command('maintain')
    .description(
      'run the maintenance jobs that are due (for cron; exit 5 when a job fails, 6 when already running)',
    )
    .option('--dry-run', 'list the jobs that would run; run nothing')
    .option('--force', 'run every job now, whatever its schedule (useful after a backfill)')
    .action(async (o, command: Command) => {
      const g = globalOptions(command);
      const opts: MaintainOptions = {
        dryRun: !!o.dryRun,
        force: !!o.force,
        onNotice: (m, level) => log[level](m),
      };
      const result = await withDb(g, (db) => maintain(db, opts));
      await printMaintainResult(g, result);
      const failing = result.notDue.filter((j) => j.failing);
      if (result.failed > 0 || failing.length) throw failedJobsError(result.jobs, failing);
    });
  examples(cmd, [
    'iotctl maintain                    # run what is due',
    'iotctl maintain --dry-run          # list what is due',
    'iotctl maintain --force --json     # run everything now, JSON summary',
    'iotctl maintain --quiet            # crontab: */10 * * * * iotctl maintain --quiet',
  ]);
}
