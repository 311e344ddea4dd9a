// `iotctl query events`: events (text and boolean values, log lines) in a range; json, ndjson and csv stream.
import type { Command } from 'commander';
import { log } from '../../output/log.js';
import { printEvents } from '../../output/events.js';
import {
  addFilterOptions,
  addRangeOptions,
  parseFilter,
  parseRangeFlags,
  type FilterFlags,
} from '../../query/options.js';
import { queryEvents, type EventsOptions } from '../../query/events.js';
import { examples, globalOptions, parseIntOption, withDb } from '../common.js';

type EventsFlags = FilterFlags & { since: string; until: string; level?: string; limit?: number };

export function registerEvents(query: Command): void {
  const cmd = addRangeOptions(addFilterOptions(query.command('events')), '24h')
    .description('events (text and boolean values, log lines), series by series in time order')
    .option('--level <list>', 'only events of these levels (comma-separated: warn,error)')
    .option('--limit <n>', 'at most this many events', parseIntOption('--limit'))
    .action(async (o: EventsFlags, c: Command) => {
      const g = globalOptions(c, 'rows');
      const levels = o.level
        ?.split(',')
        .map((l) => l.trim())
        .filter((l) => l !== '');
      const opts: EventsOptions = {
        filter: parseFilter(o),
        range: parseRangeFlags(o),
        levels: levels?.length ? levels : undefined,
        limit: o.limit,
        onNotice: (m) => log.info(m),
      };
      const header = { since: opts.range.since, until: opts.range.until };
      await withDb(g, (db) => printEvents(g.format, queryEvents(db, opts), header));
    });
  examples(cmd, [
    'iotctl query events --device pump-1 --since 7d',
    'iotctl query events --metric log --level warn,error --since 1d --format ndjson',
  ]);
}
