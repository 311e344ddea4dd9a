// `iotctl series`: every stored series with its unit, tags, first and last reading and reading count.
import type { Command } from 'commander';
import { log } from '../output/log.js';
import { printSeries } from '../output/series.js';
import { addFilterOptions, parseFilter, type FilterFlags } from '../query/options.js';
import { listSeries } from '../query/series.js';
import { examples, globalOptions, withDb } from './common.js';

export function registerSeries(program: Command): void {
  const cmd = addFilterOptions(program.command('series'))
    .description('every series stored: device, metric, unit, tags, first and last reading, readings')
    .action(async (o: FilterFlags, command: Command) => {
      const g = globalOptions(command, 'rows');
      const filter = parseFilter(o);
      const rows = await withDb(g, (db) => listSeries(db, filter));
      await printSeries(g.format, rows);
      if (!rows.length) log.info('no series matches');
    });
  examples(cmd, [
    'iotctl series                                  # everything stored',
    "iotctl series --device-like 'hall-%' --json",
    'iotctl series --metric temperature --format csv',
    'iotctl query latest --stale 1h                 # silent sensors (exit 5 when there are any)',
  ]);
}
