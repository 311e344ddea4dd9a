// `iotctl query agg`: aggregates per time bucket from the cheapest sources that answer exactly, streamed.
import type { Command } from 'commander';
import { aggChart, chartFileOf } from '../../output/chart-file.js';
import { log } from '../../output/log.js';
import { printAgg, printAggCsv, printWarnings } from '../../output/query.js';
import { streamAgg, type AggOptions, type AggStream } from '../../query/agg.js';
import { streamAggCsv } from '../../query/agg-csv.js';
import { parseWindow } from '../../query/bucketfns.js';
import { aggregateStates, selectsEventSeries } from '../../query/states.js';
import { printStateAgg } from '../../output/events.js';
import { functionsHelp, functionsList, parseFns } from '../../query/functions.js';
import {
  addFilterOptions,
  addRangeOptions,
  parseFilter,
  parseRangeFlags,
  type FilterFlags,
} from '../../query/options.js';
import { parseDuration } from '../../util/duration.js';
import { examples, globalOptions, withDb } from '../common.js';

type AggFlags = FilterFlags & {
  since: string;
  until: string;
  every: string;
  fn: string;
  window?: string;
  explain?: boolean;
  chart?: boolean | string;
};

export function registerAgg(query: Command): void {
  const agg = addRangeOptions(addFilterOptions(query.command('agg')))
    .description('aggregates per time bucket, from the cheapest rollups that answer exactly')
    .option('--every <duration>', 'bucket width', '1h')
    .option('--fn <list>', functionsHelp(), 'avg,min,max,count')
    .option(
      '--window <duration|n>',
      'add a trailing moving window of each function (moving_<fn>): this long, or this many buckets, ending at each bucket',
    )
    .option(
      '--explain',
      'say which source (rollup or raw) answered each part of the range, why, and the row estimates that chose it',
    )
    .option(
      '--chart [file]',
      'draw a line chart per series (table output), or write the chart to a file (.svg or .png) beside any --format',
    )
    .addHelpText('after', '\nAggregates:\n' + functionsList())
    .action(async (o: AggFlags, cmd: Command) => {
      const g = globalOptions(cmd, 'rows');
      const every = parseDuration(o.every, '--every');
      const opts: AggOptions = {
        filter: parseFilter(o),
        range: parseRangeFlags(o),
        every,
        fns: parseFns(o.fn),
        windowBuckets:
          o.window === undefined
            ? undefined
            : parseWindow(o.window, every, (t) => parseDuration(t, '--window')),
        onNotice: (m) => log.info(m),
      };
      const chartFile = chartFileOf(o.chart);
      const printRows = async (res: AggStream) => {
        printWarnings(res.warnings);
        const chart = chartFile && aggChart(res, chartFile);
        await printAgg(g.format, chart ? chart.rows : res, o.chart === true, !!o.explain);
        await chart?.write();
      };
      // CSV: the database writes the lines where it can (the same bytes, without rows in between); a chart
      // file needs the rows, so it keeps the row path.
      await withDb(g, async (db) => {
        // An event metric (text states): counts and time in each state, not numeric aggregates.
        if (await selectsEventSeries(db, opts.filter)) {
          if (cmd.getOptionValueSource('fn') !== 'default' || o.explain || o.chart || o.window !== undefined)
            log.warn(
              '--fn, --window, --explain and --chart are for readings; an event metric gives counts and time per state',
            );
          return printStateAgg(g.format, await aggregateStates(db, opts));
        }
        return g.format === 'csv' && !chartFile
          ? streamAggCsv(db, opts, printRows, async (res) => {
              printWarnings(res.warnings);
              await printAggCsv(res, o.chart === true, !!o.explain);
            })
          : streamAgg(db, opts, printRows);
      });
    });
  examples(agg, [
    'iotctl query agg --metric temperature --since 24h --every 1h',
    "iotctl query agg --metric temperature --device-like 'hall-%' --since 7d --every 1d --fn avg,stddev --explain",
    'iotctl query agg --metric energy --device meter-1 --since 7d --every 1h --fn increase,rate,delta',
    'iotctl query agg --metric temperature --since 2d --every 15m --fn avg,max --window 1h',
    'iotctl query agg --metric humidity --device d1,d2 --since 2026-01-05T00:00Z --until 2026-01-06 --every 5m --fn p95 --json',
    'iotctl query agg --metric temperature --since 7d --every 1h --fn avg,min,max --chart week.svg',
    'iotctl query agg --metric door --device hall-1 --since 7d --every 1d   # an event metric: counts and time per state',
  ]);
}
