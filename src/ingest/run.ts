// The ingest driver: streams readings from files and stdin into iotctl.points, in bounded memory, with
// every input reading accounted for (loaded, rejected, duplicate or null). It returns data and prints
// nothing: warnings go to `onNotice`, progress to `onProgress`.
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { OnConflict } from '../db/sql/ingest.js';
import { intervalText } from '../db/jobs.js';
import { refreshSchedule } from '../db/sql/schema.js';
import { loadStore, type Store } from '../db/store.js';
import type { Db } from '../db/types.js';
import { IotctlError, usageError } from '../errors.js';
import { formatChoice, type FormatContext, type RecordReader } from './formats/index.js';
import { analyseWritten } from './analyse.js';
import { Loader } from './loader.js';
import { EventLoader } from './events.js';
import { eventsTableExists } from '../db/sql/events.js';
import { Validator, type MapOptions, type MapSink } from './mapping.js';
import type { InputRecord } from './parse.js';
import { RejectsFile, type RejectLine } from './rejects.js';
import { guessTimeFormat } from './time.js';
import { decodeInput, openRaw, resolveInputs } from './source.js';

export interface IngestOptions {
  inputs: string[];
  /** A name from the format registry (--input-format); undefined: from the file name and first record. */
  inputFormat?: string;
  delimiter?: string;
  /** Column names for CSV files without a header line. */
  columns?: string[];
  mapping: MapOptions;
  batchSize: number;
  flushIntervalMs: number;
  workers: number;
  onConflict: OnConflict;
  retryTimeoutMs: number;
  /**
   * Load chunk ranges that have no chunk yet in bulk and attach them (TimescaleDB on a server, --on-conflict
   * skip; src/ingest/bulk.ts). Off unless asked for: the CLI asks unless --no-bulk.
   */
  bulk?: boolean;
  rejectsPath?: string;
  maxErrors?: { count?: number; percent?: number };
  dryRun: boolean;
  stdin?: Readable;
  signal?: AbortSignal;
  onProgress?: (p: IngestProgress) => void;
  /**
   * Messages for people: `warning` (a batch retried, the first rejects when there is no rejects file) and
   * `detail` (how a file is read, for --verbose).
   */
  onNotice?: (message: string, level: 'warning' | 'hint' | 'detail') => void;
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
  /** Readings and events committed. */
  loaded: number;
  /** Of `loaded`, the events (text and boolean values, stored in iotctl.events). */
  events: number;
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
/** Events per batch at most: they are staged through parameter arrays, not COPY. */
const EVENT_BATCH = 10_000;
/** Rows of one chunk range a batch must bring before the range is loaded in bulk (fewer: the normal path). */
export const BULK_MIN_ROWS = 10_000;
/** Bulk ranges open at once; each holds a connection, and a closing one holds its own while it attaches. */
export const BULK_OPEN_RANGES = 2;
/** Connections ingest needs beyond --workers + 1: the open bulk ranges and one being attached. */
export const BULK_CONNECTIONS = BULK_OPEN_RANGES + 1;

export async function ingest(db: Db, opts: IngestOptions): Promise<IngestSummary> {
  const started = Date.now();
  // `-` reads file descriptor 0 unless the caller hands over its own stream.
  const specs = resolveInputs(opts.inputs, opts.rejectsPath, opts.stdin ? undefined : 0);
  const store = await loadStore(db);
  // A store set up before the events table existed keeps reading text as before until `init` adds it.
  const events = !!(await db.query<{ exists: boolean }>(eventsTableExists)).rows[0]?.exists;
  const mapping: MapOptions = { ...opts.mapping, events };
  if (!events && opts.mapping.textMetrics?.length) {
    throw usageError(
      '--text-metrics needs the events table, which this store does not have yet',
      'run `iotctl init` once: it adds iotctl.events to an existing store',
    );
  }
  const rejects = opts.rejectsPath ? RejectsFile.open(opts.rejectsPath) : undefined;
  const validator = new Validator(mapping);
  const notice = opts.onNotice ?? (() => undefined);
  const stop = new AbortController();
  // The loader uses bulk ranges with --on-conflict skip only (its duplicate handling is skip's).
  const bulkUs = opts.bulk && !opts.dryRun ? await store.engine.bulkChunkInterval(db) : null;
  const loader = opts.dryRun
    ? undefined
    : new Loader(db, {
        batchSize: opts.batchSize,
        flushIntervalMs: opts.flushIntervalMs,
        workers: Math.max(1, Math.min(opts.workers, db.maxParallel)),
        onConflict: opts.onConflict,
        retryTimeoutMs: opts.retryTimeoutMs,
        partitions: store.engine.rowPlacer(db, store) ?? undefined,
        lateDataRollup: store.engine.lateDataRollup(store) ?? undefined,
        bulk: bulkUs ? { intervalUs: bulkUs, minRows: BULK_MIN_ROWS, maxOpen: BULK_OPEN_RANGES } : undefined,
        onRetry: (err, attempt) =>
          notice(`retrying a batch (attempt ${attempt + 1}): ${(err as Error).message}`, 'warning'),
        signal: stop.signal,
      });
  const eventLoader = opts.dryRun
    ? undefined
    : new EventLoader(db, {
        batchSize: Math.min(opts.batchSize, EVENT_BATCH),
        flushIntervalMs: opts.flushIntervalMs,
        onConflict: opts.onConflict,
        retryTimeoutMs: opts.retryTimeoutMs,
        partitions: store.engine.rowPlacer(db, store, 'events') ?? undefined,
        onRetry: (err, attempt) =>
          notice(`retrying a batch of events (attempt ${attempt + 1}): ${(err as Error).message}`, 'warning'),
        signal: stop.signal,
      });
  const acc = {
    read: 0,
    rejected: 0,
    nulls: 0,
    valid: 0,
    validEvents: 0,
    rejects: {} as Record<string, number>,
  };
  const totalBytes = specs.every((s) => s.size !== undefined)
    ? specs.reduce((n, s) => n + (s.size ?? 0), 0)
    : null;
  let bytes = 0;
  let stopped: IngestSummary['stopped'] = null;
  let lastProgress = 0;
  /** Rejects shown through `notice` without a rejects file (the first SHOWN_REJECTS). */
  let shownRejects = 0;
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
      let rawBytes: Buffer | undefined;
      // For the message when no time of the file could be read: where it was read from, and an example.
      const fileStart = acc.read;
      let unreadTimes = 0;
      let unreadExample: string | undefined;
      let timeFrom: string | undefined;
      const sink: MapSink = {
        reading: (device, metric, us, value, unit, tags) => {
          acc.read++;
          if (loader) full = loader.add(device, metric, us, value, unit, tags) ?? full;
          else acc.valid++;
        },
        event: (device, metric, us, value, level, payload, unit, tags) => {
          acc.read++;
          if (eventLoader) {
            const wait = eventLoader.add(device, metric, us, value, level, payload, unit, tags);
            if (wait) full = full ? Promise.all([full, wait]).then(() => undefined) : wait;
          } else acc.validEvents++;
        },
        nulls: (n) => {
          acc.read += n;
          acc.nulls += n;
        },
        reject: (reason, detail, n) => {
          acc.read += n;
          acc.rejected += n;
          if (reason === 'bad_time' && detail.startsWith('cannot read')) {
            unreadTimes += n;
            unreadExample ??= validator.unreadTime;
          }
          acc.rejects[reason] = (acc.rejects[reason] ?? 0) + n;
          if (rejects) {
            const r: RejectLine = { file, line, reason, detail, raw };
            if (rawBytes) r.rawBase64 = rawBytes.toString('base64');
            rejects.write(r);
          }
          // Counted in rejected rows, not readings: a wide row rejected whole stands for one per metric.
          if (!rejects && shownRejects < SHOWN_REJECTS) {
            shownRejects++;
            notice(`${file}:${line}: ${reason}: ${detail}`, 'warning');
          }
        },
      };
      const choice = formatChoice(file, opts.inputFormat);
      const ctx: FormatContext = {
        mapping,
        validator,
        columns: opts.columns,
        describe: (text) => notice(`${file}: ${text}`, 'detail'),
        timeSource: (text) => (timeFrom ??= text),
      };
      // Records before the first that tells the format apart go to the base format's reader.
      let reader: RecordReader | undefined;
      let baseReader: RecordReader | undefined;
      const readerFor = (rec: InputRecord): RecordReader => {
        if (reader) return reader;
        const chosen = choice.choose(rec);
        if (chosen && chosen !== choice.base) return (reader = chosen.reader(ctx));
        baseReader ??= choice.base.reader(ctx);
        if (chosen) reader = baseReader;
        return baseReader;
      };
      /** Whether to go on after a record (and its batch, when it filled one, has been handed on). */
      const goOn = (): boolean => {
        if (tooManyErrors()) {
          stopped = 'max_errors';
          return false;
        }
        return !stop.signal.aborted;
      };
      // Synchronous unless the record filled a batch: an async call per record cost about 0.1 µs a row
      // (a promise and a microtask each), 7% of a 5M-row load's CPU.
      const handle = (rec: InputRecord): boolean | Promise<boolean> => {
        line = rec.line;
        raw = rec.raw;
        rawBytes = rec.bytes;
        try {
          readerFor(rec).read(rec, sink);
        } catch (err) {
          throw err instanceof IotctlError && err.code === 'USAGE'
            ? new IotctlError('INPUT', `${file}: ${err.message}`, { hint: err.hint })
            : err;
        }
        if (full) {
          const wait = full;
          full = undefined;
          return wait.then(goOn);
        }
        return goOn();
      };
      const consume = async (source: AsyncIterable<InputRecord[]>) => {
        for await (const chunk of source) {
          for (const rec of chunk) {
            const next = handle(rec);
            if (!(next === true || (next !== false && (await next)))) return;
          }
          if (rejects) await rejects.drain();
          if (opts.onProgress && Date.now() - lastProgress > 200) {
            lastProgress = Date.now();
            opts.onProgress({
              read: acc.read,
              loaded: (loader?.counts.loaded ?? 0) + (eventLoader?.counts.loaded ?? 0),
              bytes,
              totalBytes,
              file,
            });
          }
        }
      };
      try {
        current = await openRaw(spec, opts.stdin ?? process.stdin);
        const input = await decodeInput(current, (n) => (bytes += n));
        const records = await choice.base.records(input, { delimiter: opts.delimiter });
        await pipeline(records, consume, { signal: stop.signal });
        if (unreadTimes > 0 && unreadTimes === acc.read - fileStart)
          notice(noTimeReadMessage(file, timeFrom, unreadExample ?? ''), 'warning');
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
    // A rejects file that cannot be written (a full disk) stops the load before the last batches.
    await rejects?.close();
    await loader?.finish();
    await eventLoader?.finish();
    if (loader && loader.counts.attachedChunks > 0) {
      notice(`loaded ${loader.counts.attachedChunks} new chunk(s) in bulk and attached them`, 'detail');
    }
    if (loader && loader.counts.loaded > 0) {
      const a = await analyseWritten(db, store, loader.touched.ranges());
      notice(
        `analysed ${a.analysed} chunk(s) written to in ${a.seconds.toFixed(2)} s` +
          (a.skipped ? ` (${a.skipped} older ones not analysed)` : ''),
        'detail',
      );
    }
    const hint = loader?.oldestUs !== undefined ? rollupLagHint(store, loader.oldestUs / 1000) : null;
    if (hint) notice(hint, 'hint');
  } catch (err) {
    await loader?.stop();
    await eventLoader?.stop();
    // A signal that cut a retry short: the batch was rolled back, and that is an ordinary interruption.
    const interrupted = err instanceof IotctlError && err.code === 'INTERRUPTED' && stopped === 'interrupted';
    if (!interrupted) {
      stopped = 'error';
      await opts.onFatal?.(summary());
      throw err;
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    // Closed above unless an error is on its way out: that error is the one to report.
    await rejects?.close().catch(() => undefined);
  }
  return summary();

  function summary(): IngestSummary {
    const seconds = (Date.now() - started) / 1000;
    const c = loader?.counts ?? { loaded: acc.valid, updated: 0, duplicates: 0, batches: 0, retries: 0 };
    const e = eventLoader?.counts ?? { loaded: acc.validEvents, updated: 0, duplicates: 0, batches: 0 };
    return {
      files: specs.map((s) => s.name),
      read: acc.read,
      loaded: c.loaded + e.loaded,
      events: e.loaded,
      updated: c.updated + e.updated,
      rejected: acc.rejected,
      duplicates: c.duplicates + e.duplicates,
      nulls: acc.nulls,
      rejects: acc.rejects,
      rejectsFile: opts.rejectsPath ?? null,
      batches: c.batches + e.batches,
      retries: c.retries,
      seconds: Math.round(seconds * 1000) / 1000,
      rowsPerSecond: seconds > 0 ? Math.round(acc.read / seconds) : acc.read,
      dryRun: opts.dryRun,
      stopped,
    };
  }
}

/**
 * Every row of a file rejected because its time could not be read: most likely the wrong column, or a
 * format that needs --time-format. Says which it took and what to try, with a value from the file.
 */
export function noTimeReadMessage(file: string, timeFrom: string | undefined, example: string): string {
  const pattern = guessTimeFormat(example);
  return (
    `${file}: every row was rejected as bad_time, its time read from ${timeFrom ?? 'the time column'} ` +
    `(e.g. '${example}'): name the time column with --time COLUMN (several: --time Date,Time), or give ` +
    `its pattern with ${pattern ? `--time-format '${pattern}'` : "--time-format PATTERN (e.g. 'DD/MM/YYYY HH:mm:ss')"}`
  );
}

/**
 * Readings older than the coarsest rollup's refresh schedule reach every rollup only when each refreshes
 * next (rollup_1d: within a day): say so, and what brings them up to date now. Null for recent readings.
 */
export function rollupLagHint(
  store: Pick<Store, 'rollups'>,
  oldestMs: number,
  nowMs = Date.now(),
): string | null {
  const coarsest = store.rollups[store.rollups.length - 1];
  if (!coarsest) return null;
  const schedule = refreshSchedule(coarsest.bucket);
  if (oldestMs >= nowMs - schedule.ms) return null;
  return (
    `loaded readings back to ${new Date(oldestMs).toISOString().slice(0, 10)}: the rollups take them in when ` +
    `each is next refreshed (${coarsest.name} within ${intervalText(schedule.ms / 1000)}); ` +
    '`iotctl rollup refresh` brings them all up to date now'
  );
}
