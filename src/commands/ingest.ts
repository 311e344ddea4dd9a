// `iotctl ingest`: streams CSV and NDJSON readings from files and stdin into iotctl.points, in bounded
// memory, with every input reading accounted for (loaded, rejected, duplicate or null).
import type { Command } from 'commander';
import ora, { type Ora } from 'ora';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { loadStore } from '../db/store.js';
import type { Db } from '../db/types.js';
import { IotctlError, usageError } from '../errors.js';
import { Loader } from '../ingest/loader.js';
import {
  csvMapper,
  ndjsonMapper,
  Validator,
  type MapOptions,
  type MapSink,
  type RecordMapper,
} from '../ingest/mapping.js';
import {
  csvRecords,
  formatFromName,
  ndjsonRecords,
  type InputFormat,
  type InputRecord,
} from '../ingest/parse.js';
import { RejectsFile } from '../ingest/rejects.js';
import type { OnConflict } from '../ingest/sql.js';
import { decodeInput, openRaw, resolveInputs } from '../ingest/source.js';
import type { EpochUnit } from '../ingest/time.js';
import { log } from '../output/log.js';
import { printLine, printRows } from '../output/render.js';
import { parseDuration } from '../util/duration.js';
import { examples, globalOptions, parseIntOption, withDb, type GlobalOptions } from './common.js';

export interface IngestOptions {
  inputs: string[];
  inputFormat?: InputFormat;
  delimiter?: string;
  /** Column names for CSV files without a header line. */
  columns?: string[];
  mapping: MapOptions;
  batchSize: number;
  flushIntervalMs: number;
  workers: number;
  onConflict: OnConflict;
  retryTimeoutMs: number;
  rejectsPath?: string;
  maxErrors?: { count?: number; percent?: number };
  dryRun: boolean;
  stdin?: Readable;
  signal?: AbortSignal;
  onProgress?: (p: IngestProgress) => void;
  /** Called with the summary of what was committed when a fatal error is about to end the load. */
  onFatal?: (partial: IngestSummary) => Promise<void> | void;
}

export interface IngestProgress {
  read: number;
  loaded: number;
  bytes: number;
  totalBytes: number | null;
  file: string;
}

/** The JSON summary (a contract, pinned in test/integration/ingest.test.ts). */
export interface IngestSummary {
  files: string[];
  /** Readings read: one per row in long files, one per metric cell in wide files and Telegraf fields. */
  read: number;
  loaded: number;
  updated: number;
  rejected: number;
  duplicates: number;
  nulls: number;
  rejects: Record<string, number>;
  rejectsFile: string | null;
  batches: number;
  retries: number;
  seconds: number;
  rowsPerSecond: number;
  dryRun: boolean;
  /** Why reading stopped early: --max-errors exceeded, SIGINT/SIGTERM, or a fatal error (the summary goes to onFatal). */
  stopped: 'max_errors' | 'interrupted' | 'error' | null;
}

const SHOWN_REJECTS = 5;

export async function ingest(db: Db, opts: IngestOptions): Promise<IngestSummary> {
  const started = Date.now();
  const specs = resolveInputs(opts.inputs, opts.rejectsPath);
  const store = await loadStore(db);
  const validator = new Validator(opts.mapping);
  const stop = new AbortController();
  const loader = opts.dryRun
    ? undefined
    : new Loader(db, {
        batchSize: opts.batchSize,
        flushIntervalMs: opts.flushIntervalMs,
        workers: Math.max(1, Math.min(opts.workers, db.maxParallel)),
        onConflict: opts.onConflict,
        retryTimeoutMs: opts.retryTimeoutMs,
        partitions: store.engine.rowPlacer(db, store) ?? undefined,
        onRetry: (err, attempt) =>
          log.warn(`retrying a batch (attempt ${attempt + 1}): ${(err as Error).message}`),
        signal: stop.signal,
      });
  const rejects = opts.rejectsPath ? new RejectsFile(opts.rejectsPath) : undefined;
  const acc = { read: 0, rejected: 0, nulls: 0, valid: 0, rejects: {} as Record<string, number> };
  const totalBytes = specs.every((s) => s.size !== undefined)
    ? specs.reduce((n, s) => n + (s.size ?? 0), 0)
    : null;
  let bytes = 0;
  let stopped: IngestSummary['stopped'] = null;
  let lastProgress = 0;
  // The input being read: closed on a signal so that a read waiting on a quiet stdin ends too.
  let current: Readable | undefined;
  const onAbort = () => {
    stopped ??= 'interrupted';
    stop.abort();
    current?.destroy(new Error('interrupted'));
  };
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const tooManyErrors = () => {
    const m = opts.maxErrors;
    if (!m) return false;
    if (m.count !== undefined) return acc.rejected > m.count;
    return acc.read >= 1000 && acc.rejected > ((m.percent ?? 100) / 100) * acc.read;
  };

  try {
    for (const spec of specs) {
      if (stopped) break;
      const file = spec.name;
      // A full batch hands back a promise; the reader awaits it after the record (backpressure).
      let full: Promise<void> | undefined;
      let line = 0;
      let raw = '';
      const sink: MapSink = {
        reading: (device, metric, us, value, unit, tags) => {
          acc.read++;
          if (loader) full = loader.add(device, metric, us, value, unit, tags) ?? full;
          else acc.valid++;
        },
        nulls: (n) => {
          acc.read += n;
          acc.nulls += n;
        },
        reject: (reason, detail, n) => {
          acc.read += n;
          acc.rejected += n;
          acc.rejects[reason] = (acc.rejects[reason] ?? 0) + n;
          rejects?.write({ file, line, reason, detail, raw });
          const shown = Object.values(acc.rejects).reduce((a, b) => a + b, 0);
          if (!rejects && shown - n < SHOWN_REJECTS) log.warn(`${file}:${line}: ${reason}: ${detail}`);
        },
      };
      const format = opts.inputFormat ?? (file === '-' ? 'csv' : formatFromName(file));
      const wrapUsage = (err: unknown) =>
        err instanceof IotctlError && err.code === 'USAGE'
          ? new IotctlError('INPUT', `${file}: ${err.message}`, { hint: err.hint })
          : err;

      let header: string[] | undefined = opts.columns;
      let mapper: RecordMapper | undefined =
        format === 'ndjson' ? ndjsonMapper(opts.mapping, validator) : undefined;
      // A whole-row reject stands for as many readings as the row carries (one per metric column when wide).
      let readingsPerRow = 1;
      const handle = async (rec: InputRecord): Promise<boolean> => {
        line = rec.line;
        raw = rec.raw;
        if (rec.error) sink.reject('csv_syntax', rec.error, readingsPerRow);
        else if (format === 'csv') {
          const fields = rec.fields as string[];
          if (!header) {
            header = fields;
            return true;
          }
          // Lines of nothing but separators (trailing junk in spreadsheet exports) are not rows.
          if (fields.every((f) => f.trim() === '')) return true;
          if (!mapper) {
            try {
              const built = csvMapper(header, fields, opts.mapping, validator);
              mapper = built.mapper;
              readingsPerRow = built.readingsPerRow;
              log.verbose(`${file}: ${built.describe}`);
            } catch (err) {
              throw wrapUsage(err);
            }
          }
          mapper(fields, rec.raw, sink);
        } else (mapper as RecordMapper)([], rec.raw, sink);
        if (full) {
          const wait = full;
          full = undefined;
          await wait;
        }
        if (tooManyErrors()) {
          stopped = 'max_errors';
          return false;
        }
        return !stop.signal.aborted;
      };
      const consume = async (source: AsyncIterable<InputRecord[]>) => {
        for await (const chunk of source) {
          for (const rec of chunk) if (!(await handle(rec))) return;
          if (rejects) await rejects.drain();
          if (opts.onProgress && Date.now() - lastProgress > 200) {
            lastProgress = Date.now();
            opts.onProgress({ read: acc.read, loaded: loader?.counts.loaded ?? 0, bytes, totalBytes, file });
          }
        }
      };
      try {
        current = await openRaw(spec, opts.stdin ?? process.stdin);
        const input = await decodeInput(current, (n) => (bytes += n));
        const records =
          format === 'csv' ? await csvRecords(input, opts.delimiter) : input.pipe(ndjsonRecords());
        if (format === 'ndjson') input.once('error', (err) => records.destroy(err));
        await pipeline(records, consume, { signal: stop.signal });
      } catch (err) {
        if (stopped) continue;
        if (err instanceof IotctlError) throw err;
        const e = err as NodeJS.ErrnoException;
        throw new IotctlError(
          'INPUT',
          `cannot read ${file}${line ? ` after line ${line}` : ''}: ${e.message}`,
          { cause: err },
        );
      } finally {
        // Done with this input (stdin too: a reader left open would keep the process alive).
        current?.destroy();
        current = undefined;
      }
    }
    await loader?.finish();
  } catch (err) {
    await loader?.stop();
    // A signal that cut a retry short: the batch was rolled back, and that is an ordinary interruption.
    const interrupted = err instanceof IotctlError && err.code === 'INTERRUPTED' && stopped === 'interrupted';
    if (!interrupted) {
      stopped = 'error';
      await opts.onFatal?.(summary());
      throw err;
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await rejects?.close();
  }
  return summary();

  function summary(): IngestSummary {
    const seconds = (Date.now() - started) / 1000;
    const c = loader?.counts ?? { loaded: acc.valid, updated: 0, duplicates: 0, batches: 0, retries: 0 };
    return {
      files: specs.map((s) => s.name),
      read: acc.read,
      loaded: c.loaded,
      updated: c.updated,
      rejected: acc.rejected,
      duplicates: c.duplicates,
      nulls: acc.nulls,
      rejects: acc.rejects,
      rejectsFile: opts.rejectsPath ?? null,
      batches: c.batches,
      retries: c.retries,
      seconds: Math.round(seconds * 1000) / 1000,
      rowsPerSecond: seconds > 0 ? Math.round(acc.read / seconds) : acc.read,
      dryRun: opts.dryRun,
      stopped,
    };
  }
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const list = (text: string) => text.split(',').map((s) => s.trim());

export function parseMaxErrors(text: string): { count?: number; percent?: number } {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim());
  if (!m) throw usageError(`invalid --max-errors '${text}'`, 'use a count (100) or a percentage (1%)');
  return m[2] ? { percent: Number(m[1]) } : { count: Math.floor(Number(m[1])) };
}

export function parseRanges(items: string[]): Map<string, { min: number; max: number }> {
  const out = new Map<string, { min: number; max: number }>();
  for (const item of items) {
    const m = /^(.+)=([^:]*):([^:]*)$/.exec(item);
    const min = m && m[2] !== '' ? Number(m[2]) : -Infinity;
    const max = m && m[3] !== '' ? Number(m[3]) : Infinity;
    if (!m || Number.isNaN(min) || Number.isNaN(max))
      throw usageError(`invalid --range '${item}'`, 'use metric=min:max, for example temp=-40:85 or rh=0:');
    out.set(m[1] as string, { min, max });
  }
  return out;
}

export function parseMap(items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const field = item.slice(0, eq);
    if (eq < 0 || !['time', 'device_id', 'metric', 'value', 'unit', 'tags'].includes(field)) {
      throw usageError(
        `invalid --map '${item}'`,
        'use field=column with field one of time, device_id, metric, value, unit, tags',
      );
    }
    out[field] = item.slice(eq + 1);
  }
  return out;
}

function summaryRows(s: IngestSummary): Array<{ item: string; value: string | number }> {
  const rows: Array<{ item: string; value: string | number }> = [
    { item: 'read', value: s.read },
    { item: s.dryRun ? 'valid (dry run, nothing written)' : 'loaded', value: s.loaded },
  ];
  if (s.updated) rows.push({ item: '  of which updated', value: s.updated });
  rows.push(
    { item: 'rejected', value: s.rejected },
    { item: 'duplicates', value: s.duplicates },
    { item: 'nulls skipped', value: s.nulls },
    { item: 'seconds', value: s.seconds },
    { item: 'readings/s', value: s.rowsPerSecond },
  );
  return rows;
}

/** The summary on stdout (the accounting line for tables) and the reasons for rejects on stderr. */
async function printSummary(format: GlobalOptions['format'], summary: IngestSummary): Promise<void> {
  if (format === 'json') await printRows('json', [], [], summary);
  else {
    await printRows(format, summaryRows(summary), [{ key: 'item' }, { key: 'value', align: 'right' }]);
    if (format === 'table') {
      await printLine(
        `read ${summary.read} = loaded ${summary.loaded} + rejected ${summary.rejected} + duplicates ${summary.duplicates} + nulls ${summary.nulls}` +
          (summary.loaded === 0 && summary.read > 0 && !summary.dryRun ? ' (0 new readings)' : ''),
      );
    }
  }
  const reasons = Object.entries(summary.rejects);
  if (reasons.length) {
    log.warn(
      `${summary.rejected} readings rejected: ${reasons.map(([r, n]) => `${r} ${n}`).join(', ')}` +
        (summary.rejectsFile ? ` (details in ${summary.rejectsFile})` : ''),
    );
  }
}

export function registerIngest(program: Command): void {
  const cmd = program
    .command('ingest')
    .description('load readings from CSV or NDJSON files (gzip too) or stdin (-)')
    .argument('<inputs...>', 'files, globs, or - for stdin')
    .option('--input-format <format>', 'csv or ndjson (default: from the extension; stdin: csv)')
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
    .option('--metrics <list>', 'wide: the metric columns (default: every numeric column)')
    .option('--exclude <list>', 'wide: columns that are not metrics')
    .option('--device <id>', 'device id for every reading (files without a device column)')
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
    .option('--retry-timeout <duration>', 'retry transient server errors for this long', '60s')
    .option('--dry-run', 'read and validate everything, write nothing')
    .action(async (inputs: string[], o, command: Command) => {
      const g = globalOptions(command);
      if (o.inputFormat && !['csv', 'ndjson'].includes(o.inputFormat))
        throw usageError(`invalid --input-format '${o.inputFormat}'`, 'use csv or ndjson');
      if (!['skip', 'update', 'error'].includes(o.onConflict))
        throw usageError(`invalid --on-conflict '${o.onConflict}'`, 'use skip, update or error');
      if (o.epoch && !['s', 'ms', 'us', 'ns'].includes(o.epoch))
        throw usageError(`invalid --epoch '${o.epoch}'`, 'use s, ms, us or ns');
      const map = parseMap(o.map ?? []);
      const opts: IngestOptions = {
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
          device: o.device,
          time: { tz: o.tz, epoch: o.epoch as EpochUnit | undefined, format: o.timeFormat },
          nulls: (o.null ?? []).flatMap(list),
          maxFutureMs: parseDuration(o.maxFuture, '--max-future').ms,
          ranges: parseRanges(o.range ?? []),
        },
        batchSize: o.batchSize,
        flushIntervalMs: parseDuration(o.flushInterval, '--flush-interval').ms,
        workers: o.workers,
        onConflict: o.onConflict,
        retryTimeoutMs: parseDuration(o.retryTimeout, '--retry-timeout').ms,
        rejectsPath: o.rejects,
        maxErrors: o.maxErrors ? parseMaxErrors(o.maxErrors) : undefined,
        dryRun: !!o.dryRun,
      };
      const aborter = new AbortController();
      const onSignal = () => aborter.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      let spinner: Ora | undefined;
      // A zero-width terminal (some pseudo-terminals) would make the spinner redraw forever.
      if (process.stderr.isTTY && (process.stderr.columns ?? 0) > 0 && !g.quiet) {
        spinner = ora({ stream: process.stderr, text: 'ingest: starting' }).start();
        opts.onProgress = (p) => {
          const secs = (Date.now() - t0) / 1000;
          const rate = Math.round(p.read / Math.max(secs, 0.001));
          let text = `ingest ${p.file}: ${p.read.toLocaleString('en-US')} readings, ${rate.toLocaleString('en-US')}/s`;
          if (p.totalBytes) {
            const frac = Math.min(1, p.bytes / p.totalBytes);
            const eta = frac > 0 ? Math.round(secs / frac - secs) : 0;
            text += `, ${Math.round(frac * 100)}%, ETA ${eta}s`;
          }
          (spinner as Ora).text = text;
        };
      }
      const t0 = Date.now();
      let summary: IngestSummary;
      try {
        const onFatal = async (partial: IngestSummary) => {
          spinner?.stop();
          await printSummary(g.format, partial);
        };
        summary = await withDb(g, (db) => ingest(db, { ...opts, signal: aborter.signal, onFatal }), {
          poolSize: opts.workers + 1,
        });
      } finally {
        spinner?.stop();
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
      }
      await printSummary(g.format, summary);
      if (summary.stopped === 'interrupted') {
        throw new IotctlError('INTERRUPTED', `interrupted: ${summary.loaded} readings committed`);
      }
      if (summary.stopped === 'max_errors') {
        throw new IotctlError(
          'TOO_MANY_ERRORS',
          `stopped: more than ${o.maxErrors} rows rejected; ${summary.loaded} readings committed`,
          {
            hint: summary.rejectsFile
              ? `see ${summary.rejectsFile}`
              : 'add --rejects FILE to see every rejected row',
          },
        );
      }
      if (summary.rejected > 0) {
        throw new IotctlError('REJECTED', `${summary.rejected} readings rejected`, {
          hint: summary.rejectsFile
            ? `see ${summary.rejectsFile}`
            : 'add --rejects FILE to see every rejected row',
        });
      }
    });
  examples(cmd, [
    'iotctl ingest readings.csv',
    "iotctl ingest 'exports/*.csv.gz' --rejects rejects.ndjson --max-errors 1%",
    'tail -F sensors.ndjson | iotctl ingest - --input-format ndjson',
    'iotctl ingest logger.csv --wide --device boiler-1 --time Date,Time --time-format "DD/MM/YYYY HH:mm:ss" --tz Europe/Rome',
  ]);
}
