// `iotctl status` on the command line: flags, the data function in src/maintenance/status.ts, a printer.
import type { Command } from 'commander';
import { IotctlError } from '../errors.js';
import { printStatus } from '../output/status.js';
import { examples, globalOptions, withDb } from './common.js';
import { status } from '../maintenance/status.js';

export function registerStatus(program: Command): void {
  const cmd = program
    .command('status')
    .description('show the target, versions, store size and job health (exit 5 when a job is failing)')
    .action(async (_o, command: Command) => {
      const g = globalOptions(command);
      const result = await withDb(g, (db) => status(db));
      await printStatus(g.format, result);
      if (!result.healthy) {
        // The report above is the output; the exit code is what monitoring reads.
        process.exitCode = new IotctlError('CHECK_FAILED', 'unhealthy').exitCode;
      }
    });
  examples(cmd, [
    'iotctl status',
    'iotctl status --db postgres://iot@localhost/iot --json',
    'iotctl status || alert',
  ]);
}
