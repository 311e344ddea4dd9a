// `iotctl query agg`: aggregates per time bucket from the cheapest sources that answer exactly, streamed.
import type { Command } from 'commander';
import { log } from '../../output/log.js';
import { printAgg, printWarnings } from '../../output/query.js';
import { streamAgg, type AggOptions } from '../../query/agg.js';
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
  explain?: boolean;
  chart?: boolean;
};

export function registerAgg(query: Command): void {
  const agg = addRangeOptions(addFilterOptions(query.command('agg')))
    .description('aggregates per time bucket, from the cheapest rollups that answer exactly')
    .option('--every <duration>', 'bucket width', '1h')
    .option('--fn <list>', functionsHelp(), 'avg,min,max,count')
    .option(
      '--explain',
      'say which source (rollup or raw) answered each part of the range, why, and the row estimates that chose it',
    )
    .option('--chart', 'draw a line chart per series (table output)')
    .addHelpText('after', '\nAggregates:\n' + functionsList())
    .action(async (o: AggFlags, cmd: Command) => {
      const g = globalOptions(cmd, 'rows');
      const opts: AggOptions = {
        filter: parseFilter(o),
        range: parseRangeFlags(o),
        every: parseDuration(o.every, '--every'),
        fns: parseFns(o.fn),
        onNotice: (m) => log.info(m),
      };
      await withDb(g, async (db) => {
        // An event metric (text states): counts and time in each state, not numeric aggregates.
        if (await selectsEventSeries(db, opts.filter)) {
          if (cmd.getOptionValueSource('fn') !== 'default' || o.explain || o.chart)
            log.warn(
              '--fn, --explain and --chart are for readings; an event metric gives counts and time per state',
            );
          return printStateAgg(g.format, await aggregateStates(db, opts));
        }
        return streamAgg(db, opts, async (res) => {
          printWarnings(res.warnings);
          await printAgg(g.format, res, !!o.chart, !!o.explain);
        });
      });
    });
  examples(agg, [
    'iotctl query agg --metric temperature --since 24h --every 1h',
    "iotctl query agg --metric temperature --device-like 'hall-%' --since 7d --every 1d --fn avg,stddev --explain",
    'iotctl query agg --metric humidity --device d1,d2 --since 2026-01-05T00:00Z --until 2026-01-06 --every 5m --fn p95 --json',
    'iotctl query agg --metric door --device hall-1 --since 7d --every 1d   # an event metric: counts and time per state',
  ]);
}
