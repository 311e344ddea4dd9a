// `iotctl stats` on the command line: flags, the data function in src/maintenance/stats.ts, a printer.
import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { printStats } from '../output/stats.js';
import { examples, globalOptions, parseIntOption, withDb } from './common.js';
import { allStats, sortColumns, SortColumn, topOf } from '../maintenance/stats.js';

export function registerStats(program: Command): void {
  const cmd = program
    .command('stats')
    .description('per-chunk rows, size before/after compression and ratio, with totals and rollup sizes')
    .option('--top <n>', 'only the first N chunks after sorting', parseIntOption('--top'))
    .option('--sort <column>', `sort by ${sortColumns.join(', ')} (time ascends, the rest descend)`, 'time')
    .action(async (o, command: Command) => {
      const g = globalOptions(command);
      if (!sortColumns.includes(o.sort))
        throw usageError(`invalid --sort '${o.sort}'`, `use one of ${sortColumns.join(', ')}`);
      const all = await withDb(g, (db) => allStats(db, o.sort as SortColumn));
      await printStats(g.format, topOf(all, o.top), all);
    });
  examples(cmd, ['iotctl stats', 'iotctl stats --sort before --top 10', 'iotctl stats --json | jq .totals']);
}
