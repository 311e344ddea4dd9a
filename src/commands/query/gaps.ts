// `iotctl query gaps`: missing intervals per series, longer than the expected reading interval.
import type { Command } from 'commander';
import { log } from '../../output/log.js';
import { printGaps } from '../../output/query.js';
import { DEFAULT_TOLERANCE, parseTolerance, queryGaps } from '../../query/gaps.js';
import {
  addFilterOptions,
  addRangeOptions,
  parseFilter,
  parseRangeFlags,
  type FilterFlags,
} from '../../query/options.js';
import { parseDuration } from '../../util/duration.js';
import { examples, globalOptions, withDb } from '../common.js';

type GapsFlags = FilterFlags & { since: string; until: string; expected: string; tolerance: string };

export function registerGaps(query: Command): void {
  const gaps = addRangeOptions(addFilterOptions(query.command('gaps')))
    .description(
      'missing intervals per device and metric: consecutive readings further apart than --expected',
    )
    .requiredOption(
      '--expected <duration>',
      'the interval readings should arrive at (a gap is anything longer, by more than --tolerance)',
    )
    .option(
      '--tolerance <duration|n%>',
      'how much longer than --expected an interval may be before it is a gap (0s: none)',
      `${DEFAULT_TOLERANCE * 100}%`,
    )
    .action(async (o: GapsFlags, cmd: Command) => {
      const g = globalOptions(cmd, 'rows');
      const expected = parseDuration(o.expected, '--expected');
      const opts = {
        filter: parseFilter(o),
        range: parseRangeFlags(o),
        expected,
        toleranceMs: parseTolerance(o.tolerance, expected),
        onNotice: (m: string) => log.info(m),
      };
      const res = await withDb(g, (db) => queryGaps(db, opts));
      await printGaps(g.format, res);
    });
  examples(gaps, [
    'iotctl query gaps --expected 5m --since 7d',
    "iotctl query gaps --expected 1m --device-like 'hall-%' --format csv",
    'iotctl query gaps --expected 1m --tolerance 0s   # every step longer than a minute',
  ]);
}
