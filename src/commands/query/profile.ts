// `iotctl query profile`: the typical value per hour of the day or day of the week, from the rollups.
import { Option, type Command } from 'commander';
import { printProfile } from '../../output/analytics.js';
import { log } from '../../output/log.js';
import { printWarnings } from '../../output/query.js';
import {
  addFilterOptions,
  addRangeOptions,
  parseFilter,
  parseRangeFlags,
  type FilterFlags,
} from '../../query/options.js';
import { PROFILE_BY, profileRange, queryProfile, type ProfileBy } from '../../query/profile.js';
import { examples, globalOptions, withDb } from '../common.js';

type ProfileFlags = FilterFlags & { since: string; until: string; by: ProfileBy; tz: string };

export function registerProfile(query: Command): void {
  const profile = addRangeOptions(addFilterOptions(query.command('profile')), '28d')
    .description(
      'the typical value per hour of the day or day of the week: median and quartiles of the hourly averages',
    )
    .addOption(
      new Option('--by <slot>', 'hour (of the day, 0-23) or weekday (1-7, Monday 1)')
        .choices(PROFILE_BY)
        .default('hour'),
    )
    .option('--tz <zone>', 'IANA time zone of the hours and weekdays (Europe/Rome)', 'UTC')
    .action(async (o: ProfileFlags, cmd: Command) => {
      const g = globalOptions(cmd, 'rows');
      const opts = {
        filter: parseFilter(o),
        range: profileRange(parseRangeFlags(o), o.tz),
        by: o.by,
        tz: o.tz,
        onNotice: (m: string) => log.info(m),
      };
      const res = await withDb(g, (db) => queryProfile(db, opts));
      printWarnings(res.warnings);
      await printProfile(g.format, res);
    });
  examples(profile, [
    'iotctl query profile --metric temperature',
    'iotctl query profile --metric power --device meter-1 --by weekday --tz Europe/Rome --json',
  ]);
}
