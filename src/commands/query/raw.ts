// `iotctl query raw`: readings in a range, streamed as json/csv; --downsample keeps n per series (LTTB).
import type { Command } from 'commander';
import { chartFileOf, rawChart } from '../../output/chart-file.js';
import { log } from '../../output/log.js';
import { printRaw } from '../../output/query.js';
import {
  addFilterOptions,
  addRangeOptions,
  parseFilter,
  parseRangeFlags,
  type FilterFlags,
} from '../../query/options.js';
import { queryRaw, type RawOptions } from '../../query/raw.js';
import { examples, globalOptions, parseIntOption, withDb } from '../common.js';

type RawFlags = FilterFlags & {
  since: string;
  until: string;
  limit?: number;
  downsample?: number;
  chart?: boolean | string;
};

export function registerRaw(query: Command): void {
  const raw = addRangeOptions(addFilterOptions(query.command('raw')), '1h')
    .description('readings in a range, series by series in time order; json and csv stream')
    .option('--limit <n>', 'at most this many readings', parseIntOption('--limit'))
    .option(
      '--downsample <n>',
      'keep n points per series with LTTB (for plotting)',
      parseIntOption('--downsample', 3),
    )
    .option(
      '--chart [file]',
      'draw a line chart per series (table output), or write the chart to a file (.svg or .png) beside any --format',
    )
    .action(async (o: RawFlags, cmd: Command) => {
      const g = globalOptions(cmd, 'rows');
      const opts: RawOptions = {
        filter: parseFilter(o),
        range: parseRangeFlags(o),
        limit: o.limit,
        downsample: o.downsample,
        onNotice: (m) => log.info(m),
      };
      const header = { since: opts.range.since, until: opts.range.until };
      const chartFile = chartFileOf(o.chart);
      await withDb(g, async (db) => {
        const chart = chartFile && rawChart(queryRaw(db, opts), header, chartFile);
        await printRaw(g.format, chart ? chart.rows : queryRaw(db, opts), header, o.chart === true);
        await chart?.write();
      });
    });
  examples(raw, [
    'iotctl query raw --metric temperature --device d1 --since 6h --chart',
    'iotctl query raw --metric temperature --since 30d --downsample 500 --format csv > plot.csv',
    'iotctl query raw --metric temperature --device d1 --since 24h --chart d1.svg --json > d1.json',
  ]);
}
