// `iotctl ingest`: parses the flags, runs the ingest driver (src/ingest/run.ts) and prints its summary;
// the exit code tells cron whether every reading was loaded.
import type { Command } from 'commander';
import type { OnConflict } from '../db/sql/ingest.js';
import { IotctlError, usageError } from '../errors.js';
import { formatByName, formatHelp, formatNames, orList } from '../ingest/formats/index.js';
import { parseMap, parseMaxErrors, parseRanges, parseTags, parseUnits } from '../ingest/options.js';
import { BULK_CONNECTIONS, ingest, type IngestOptions, type IngestSummary } from '../ingest/run.js';
import type { EpochUnit } from '../ingest/time.js';
import { ingestSpinner, printIngestNotice, printIngestSummary } from '../output/ingest.js';
import { parseDuration } from '../util/duration.js';
import { examples, globalOptions, parseIntOption, withDb } from './common.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];
const list = (text: string) => text.split(',').map((s) => s.trim());

/** The flags as commander gives them. */
interface IngestFlags {
  inputFormat?: string;
  delimiter?: string;
  columns?: string;
  map?: string[];
  time?: string;
  timeFormat?: string;
  tz: string;
  epoch?: string;
  wide?: boolean;
  metrics?: string;
  exclude?: string;
  textMetrics?: string;
  device?: string;
  metric?: string;
  unit?: string[];
  tag?: string[];
  null?: string[];
  maxFuture: string;
  range?: string[];
  onConflict: string;
  rejects?: string;
  maxErrors?: string;
  batchSize: number;
  flushInterval: string;
  workers: number;
  retryTimeout: string;
  dryRun?: boolean;
  bulk?: boolean;
}

function ingestOptionsFrom(inputs: string[], o: IngestFlags): IngestOptions {
  if (o.inputFormat !== undefined) formatByName(o.inputFormat);
  if (!['skip', 'update', 'error'].includes(o.onConflict))
    throw usageError(`invalid --on-conflict '${o.onConflict}'`, 'use skip, update or error');
  if (o.epoch && !['s', 'ms', 'us', 'ns'].includes(o.epoch))
    throw usageError(`invalid --epoch '${o.epoch}'`, 'use s, ms, us or ns');
  const map = parseMap(o.map ?? []);
  return {
    inputs,
    inputFormat: o.inputFormat,
    delimiter: o.delimiter === 'tab' || o.delimiter === '\\t' ? '\t' : o.delimiter,
    columns: o.columns ? list(o.columns) : undefined,
    mapping: {
      map,
      timeColumns: o.time ? list(o.time) : map.time ? [map.time] : undefined,
      wide: o.wide ? true : undefined,
      metrics: o.metrics ? list(o.metrics) : undefined,
      exclude: o.exclude ? list(o.exclude) : [],
      textMetrics: o.textMetrics ? list(o.textMetrics) : undefined,
      device: o.device,
      metric: o.metric,
      units: parseUnits(o.unit ?? []),
      tags: parseTags(o.tag ?? []),
      time: { tz: o.tz, epoch: o.epoch as EpochUnit | undefined, format: o.timeFormat },
      nulls: (o.null ?? []).flatMap(list),
      maxFutureMs: parseDuration(o.maxFuture, '--max-future').ms,
      ranges: parseRanges(o.range ?? []),
    },
    batchSize: o.batchSize,
    flushIntervalMs: parseDuration(o.flushInterval, '--flush-interval').ms,
    workers: o.workers,
    onConflict: o.onConflict as OnConflict,
    retryTimeoutMs: parseDuration(o.retryTimeout, '--retry-timeout', { allowZero: true }).ms,
    rejectsPath: o.rejects,
    maxErrors: o.maxErrors ? parseMaxErrors(o.maxErrors) : undefined,
    dryRun: !!o.dryRun,
    bulk: o.bulk !== false,
  };
}

/** The error that sets the exit code once the summary is printed (none: every reading was loaded). */
function outcomeError(summary: IngestSummary, maxErrors: string | undefined): IotctlError | undefined {
  const hint = summary.rejectsFile
    ? `see ${summary.rejectsFile}`
    : 'add --rejects FILE to see every rejected row';
  if (summary.stopped === 'interrupted')
    return new IotctlError('INTERRUPTED', `interrupted: ${summary.loaded} readings committed`);
  if (summary.stopped === 'max_errors') {
    return new IotctlError(
      'TOO_MANY_ERRORS',
      `stopped: more than ${maxErrors} rows rejected; ${summary.loaded} readings committed`,
      { hint },
    );
  }
  if (summary.rejected > 0)
    return new IotctlError('REJECTED', `${summary.rejected} readings rejected`, { hint });
  return undefined;
}

/** The flags that say how an input is read and mapped to readings. */
function addMappingOptions(cmd: Command): Command {
  return cmd
    .option(
      '--input-format <format>',
      `${orList(formatNames)} (default: from the file name and first line; stdin: csv)`,
    )
    .option('--delimiter <char>', 'CSV delimiter (default: guessed from the header: , ; tab |)')
    .option('--columns <list>', 'column names for CSV without a header line')
    .option(
      '--map <field=column>',
      'read field (time, device_id, metric, value, unit, tags) from column; repeatable',
      collect,
    )
    .option(
      '--time <columns>',
      'time column, or several joined with a space (Date,Time) or year,month,day,hour',
    )
    .option('--time-format <pattern>', 'time pattern: YYYY MM DD HH mm ss SSS Z, e.g. "DD/MM/YYYY HH.mm.ss"')
    .option('--tz <zone>', 'time zone of times without an offset', 'UTC')
    .option('--epoch <unit>', 'unit of numeric times: s, ms, us or ns (default: by magnitude)')
    .option('--wide', 'one column per metric (default: wide unless the header has metric and value columns)')
    .option('--metrics <list>', 'wide: the metric columns (default: every named column)')
    .option('--exclude <list>', 'wide: columns that are not metrics')
    .option(
      '--text-metrics <list>',
      'metrics (columns, keys) stored as events whatever their values (default: judged by the first value)',
    )
    .option('--device <id>', 'device id for every reading (files without a device column)')
    .option(
      '--metric <name>',
      'metric name of the one value column (timestamp,value files); default: its name',
    )
    .option(
      '--unit <[metric=]unit>',
      'unit of a metric (temperature=°C), or of every metric (°C), where the input gives none; repeatable',
      collect,
    )
    .option(
      '--tag <key=value>',
      'a tag stored with every series written (a tag the input gives wins); repeatable',
      collect,
    );
}

export function registerIngest(program: Command): void {
  const cmd = addMappingOptions(
    program
      .command('ingest')
      .description(`load readings from ${orList(formatNames)} files (gzip too) or stdin (-)`)
      .argument('<inputs...>', 'files, globs, or - for stdin'),
  )
    .option(
      '--null <markers>',
      'extra values meaning "no reading", comma-separated (empty, NA, null always are)',
      collect,
    )
    .option('--max-future <duration>', 'reject times further ahead than this', '1h')
    .option('--range <metric=min:max>', 'reject values of metric outside min..max; repeatable', collect)
    .option('--on-conflict <mode>', 'a reading already stored: skip, update or error', 'skip')
    .option('--rejects <file>', 'write rejected rows here (NDJSON: file, line, reason, detail, raw)')
    .option('--max-errors <n|n%>', 'stop (exit 7) once more rows than this are rejected')
    .option('--batch-size <n>', 'readings per transaction', parseIntOption('--batch-size'), 50000)
    .option('--flush-interval <duration>', 'commit a partial batch after this long (slow stdin)', '1s')
    .option('--workers <n>', 'concurrent transactions on a server', parseIntOption('--workers'), 2)
    .option(
      '--no-bulk',
      'TimescaleDB server: write every batch into points, also in time ranges that have no chunk yet',
    )
    .option('--retry-timeout <duration>', 'retry transient server errors for this long', '60s')
    .option('--dry-run', 'read and validate everything, write nothing')
    .action(async (inputs: string[], o: IngestFlags, command: Command) => {
      const g = globalOptions(command);
      const opts = ingestOptionsFrom(inputs, o);
      const aborter = new AbortController();
      const onSignal = () => aborter.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const spinner = ingestSpinner(g.quiet);
      let summary: IngestSummary;
      try {
        const onFatal = async (partial: IngestSummary) => {
          spinner?.stop();
          await printIngestSummary(g.format, partial);
        };
        const run = { ...opts, signal: aborter.signal, onFatal, onNotice: printIngestNotice };
        summary = await withDb(g, (db) => ingest(db, { ...run, onProgress: spinner?.update }), {
          poolSize: opts.workers + 1 + (opts.bulk ? BULK_CONNECTIONS : 0),
        });
      } finally {
        spinner?.stop();
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
      }
      await printIngestSummary(g.format, summary);
      const err = outcomeError(summary, o.maxErrors);
      if (err) throw err;
    });
  cmd.addHelpText('after', `\nInput formats:\n${formatHelp()}`);
  examples(cmd, [
    'iotctl ingest readings.csv',
    "iotctl ingest 'exports/*.csv.gz' --rejects rejects.ndjson --max-errors 1%",
    'tail -F sensors.ndjson | iotctl ingest - --input-format ndjson',
    'iotctl ingest logger.csv --wide --device boiler-1 --time Date,Time --time-format "DD/MM/YYYY HH:mm:ss" --tz Europe/Rome',
    'iotctl ingest probe.csv --device probe-7 --metric temperature --unit °C --tag site=plant-2',
  ]);
}
