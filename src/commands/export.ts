// `iotctl export`: readings to CSV or NDJSON, lossless and streamed, in the long form `iotctl ingest`
// reads back unchanged (a backup, a move between stores, a hand-over to another tool).
import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { writeExport, type ExportFormat } from '../output/export.js';
import { log } from '../output/log.js';
import { addFilterOptions, parseFilter, type FilterFlags } from '../query/options.js';
import { eventsLeftOut, exportReadings } from '../query/export.js';
import { parseTime } from '../query/time.js';
import { examples, globalOptions, withDb } from './common.js';

type ExportFlags = FilterFlags & { since?: string; until?: string; outputFormat: string };

export function registerExport(program: Command): void {
  const cmd = addFilterOptions(program.command('export'))
    .description('readings to CSV or NDJSON, exactly as stored, in the form iotctl ingest reads back')
    .option('--since <time>', 'from this time (default: the first reading)')
    .option('--until <time>', 'before this time, exclusive (default: after the last reading)')
    .option('--output-format <format>', 'csv (time,device_id,metric,value,unit,tags) or ndjson', 'csv')
    .action(async (o: ExportFlags, command: Command) => {
      const g = globalOptions(command);
      const format = o.outputFormat as ExportFormat;
      if (format !== 'csv' && format !== 'ndjson') {
        throw usageError(`invalid --output-format '${o.outputFormat}'`, 'use csv or ndjson');
      }
      const now = new Date();
      const since = o.since === undefined ? null : parseTime(o.since, now, '--since');
      const until = o.until === undefined ? null : parseTime(o.until, now, '--until');
      if (since && until && since >= until) {
        throw usageError(`--since (${since.toISOString()}) must be before --until (${until.toISOString()})`);
      }
      const filter = parseFilter(o);
      const opts = { filter, range: { since, until } };
      const { done, left } = await withDb(g, async (db) => ({
        done: await writeExport(exportReadings(db, opts), format),
        left: await eventsLeftOut(db, opts),
      }));
      log.info(
        `exported ${done.readings.toLocaleString('en-US')} readings of ${done.series.toLocaleString('en-US')} series`,
      );
      if (left.events > 0)
        log.warn(
          `export writes readings only: ${left.events.toLocaleString('en-US')} event${left.events === 1 ? '' : 's'} of ${left.series.toLocaleString('en-US')} series in the selection are not in it; iotctl query events --format ndjson lists them`,
        );
    });
  examples(cmd, [
    'iotctl export > backup.csv                                   # everything; iotctl ingest backup.csv reads it back',
    'iotctl export --device boiler-1 --since 7d --output-format ndjson | gzip > boiler.ndjson.gz',
    'iotctl export --metric temperature --since 2026-01-01 --until 2026-02-01 > january.csv',
  ]);
}
