// `iotctl query corr`: Pearson correlation of aligned bucket averages, per metric or device pair, with the best lag.
import type { Command } from 'commander';
import { usageError } from '../../errors.js';
import { printCorr } from '../../output/analytics.js';
import { log } from '../../output/log.js';
import { printWarnings } from '../../output/query.js';
import { corrLags, parseMetrics, queryCorr, type CorrOptions } from '../../query/corr.js';
import { addRangeOptions, parseFilter, parseRangeFlags, type FilterFlags } from '../../query/options.js';
import { parseDuration } from '../../util/duration.js';
import { examples, globalOptions, withDb } from '../common.js';

type CorrFlags = FilterFlags & {
  metric: string;
  since: string;
  until: string;
  every: string;
  maxLag?: string;
};

export function registerCorr(query: Command): void {
  const selection = query
    .command('corr')
    .description(
      "Pearson's r of bucket averages: every metric pair on each device, or with one metric every device pair",
    )
    .requiredOption(
      '--metric <list>',
      'two metrics (a,b: the pair on each device; more: every pair) or one (every pair of devices)',
    )
    .option('--device <ids>', 'only these devices (comma-separated)')
    .option('--device-like <pattern>', "only devices matching an SQL LIKE pattern ('hall-%')");
  const corr = addRangeOptions(selection, '7d')
    .option('--every <duration>', 'bucket width', '1h')
    .option(
      '--max-lag <duration>',
      'also shift b by up to this much either way (whole buckets) and report the lag where |r| is largest',
    )
    .action(async (o: CorrFlags, cmd: Command) => {
      const g = globalOptions(cmd, 'rows');
      const filter = parseFilter({ device: o.device, deviceLike: o.deviceLike });
      const opts: CorrOptions = {
        metrics: parseMetrics(o.metric),
        devices: filter.devices,
        deviceLike: filter.deviceLike,
        range: parseRangeFlags(o),
        every: parseDuration(o.every, '--every'),
        maxLag: o.maxLag === undefined ? undefined : parseDuration(o.maxLag, '--max-lag'),
        onNotice: (m) => log.info(m),
      };
      corrLags(opts.every, opts.maxLag);
      if (opts.metrics.length === 1 && opts.devices?.length === 1)
        throw usageError(
          `one metric of one device (${opts.devices[0]}) has nothing to correlate with`,
          'give two metrics (--metric a,b) or several devices',
        );
      const res = await withDb(g, (db) => queryCorr(db, opts));
      printWarnings(res.warnings);
      await printCorr(g.format, res);
    });
  examples(corr, [
    'iotctl query corr --metric temperature,humidity --since 7d',
    'iotctl query corr --metric temperature --device hall-1,cellar-1 --every 1h --max-lag 6h --json',
  ]);
}
