// `iotctl query latest`: the last reading of each series; with --stale, the silent ones and exit 5.
import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { log } from '../../output/log.js';
import { printLatest } from '../../output/query.js';
import { queryLatest } from '../../query/latest.js';
import { addFilterOptions, parseFilter, type FilterFlags } from '../../query/options.js';
import { parseDuration } from '../../util/duration.js';
import { examples, globalOptions, withDb } from '../common.js';

export function registerLatest(query: Command): void {
  const latest = addFilterOptions(query.command('latest'))
    .description('the last reading of each device and metric, and its age')
    .option('--stale <duration>', 'only series silent for longer than this (offline sensors); exit 5 if any')
    .action(async (o: FilterFlags & { stale?: string }, cmd: Command) => {
      const g = globalOptions(cmd, 'rows');
      const opts = {
        filter: parseFilter(o),
        stale: o.stale ? parseDuration(o.stale, '--stale') : undefined,
        onNotice: (m: string) => log.info(m),
      };
      const res = await withDb(g, (db) => queryLatest(db, opts));
      await printLatest(g.format, res);
      // Like `status`, a found problem is an exit code cron and monitoring can act on.
      if (opts.stale && res.rows.length > 0) process.exitCode = ExitCode.checkFailed;
    });
  examples(latest, ['iotctl query latest --metric temperature', 'iotctl query latest --stale 15m --json']);
}
