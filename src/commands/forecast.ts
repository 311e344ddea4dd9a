// `iotctl forecast`: Holt-Winters on one series' bucket averages, with prediction intervals.
import type { Command } from 'commander';
import { chartFileOf, forecastChartSpec, writeChartFile } from '../output/chart-file.js';
import { chartHistory, printForecast } from '../output/forecast.js';
import { log } from '../output/log.js';
import { forecast, validateForecast, type ForecastOptions } from '../query/forecast.js';
import { addFilterOptions, parseFilter, type FilterFlags } from '../query/options.js';
import { parseTime } from '../query/time.js';
import { parseDuration } from '../util/duration.js';
import { examples, globalOptions, withDb } from './common.js';

type ForecastFlags = FilterFlags & {
  horizon: string;
  every?: string;
  season?: string;
  since?: string;
  until?: string;
  chart?: boolean | string;
};

export function registerForecast(program: Command): void {
  const cmd = addFilterOptions(program.command('forecast'), true)
    .description('forecast one series (Holt-Winters, additive) with 80% and 95% prediction intervals')
    .requiredOption('--horizon <duration>', 'how far ahead (24h, 7d)')
    .option('--every <duration>', 'bucket width (default from --horizon: 5m up to 6h, 1h up to 7d, else 1d)')
    .option(
      '--season <duration|none>',
      'the season (1d, 7d) or none (default: chosen from the data among 1d and 7d)',
    )
    .option(
      '--since <time>',
      'start of the history fitted (default: 8 seasons of the longest tried, at least 4 horizons)',
    )
    .option(
      '--until <time>',
      'end of the history, where the forecast starts (default: the end of the last bucket with readings)',
    )
    .option(
      '--chart [file]',
      'draw the recent history and the forecast (table output), or write the chart to a file (.svg or .png)',
    )
    .action(async (o: ForecastFlags, command: Command) => {
      const g = globalOptions(command, 'rows');
      const now = new Date();
      const opts: ForecastOptions = {
        filter: parseFilter(o),
        horizon: parseDuration(o.horizon, '--horizon'),
        every: o.every === undefined ? undefined : parseDuration(o.every, '--every'),
        season:
          o.season === undefined
            ? undefined
            : o.season.trim().toLowerCase() === 'none'
              ? null
              : parseDuration(o.season, '--season'),
        since: o.since === undefined ? undefined : parseTime(o.since, now, '--since'),
        until: o.until === undefined ? undefined : parseTime(o.until, now, '--until'),
        onNotice: (m) => log.info(m),
      };
      validateForecast(opts);
      const chartFile = chartFileOf(o.chart);
      const res = await withDb(g, (db) => forecast(db, opts));
      await printForecast(g.format, res, o.chart === true);
      if (chartFile) await writeChartFile(chartFile, forecastChartSpec(res, chartHistory(res)));
    });
  examples(cmd, [
    'iotctl forecast --metric temperature --device hall-1 --horizon 24h --chart',
    'iotctl forecast --metric power --device pump-1 --horizon 7d --season 1d --json',
    'iotctl forecast --metric temperature --device hall-1 --horizon 6h --every 15m --since 14d',
    'iotctl forecast --metric temperature --device hall-1 --horizon 24h --chart hall-1.svg',
  ]);
}
