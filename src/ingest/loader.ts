// Batching and writing: resolves series ids, creates plain-mode partitions, sorts and de-duplicates each
// batch, and commits it as one transaction (COPY straight into points; after a unique violation, COPY
// into a staging table and INSERT ... ON CONFLICT),
// with up to `workers` transactions in flight and transient errors retried.
import type { RowPlacer } from '../engine/types.js';
import {
  copyPoints,
  copyStage,
  countStoredFromStage,
  createStage,
  insertFromStage,
  upsertSeries,
  type OnConflict,
} from '../db/sql/ingest.js';
import { COPY_SIGNATURE } from '../db/copy-binary.js';
import { isUniqueViolation, isWorkerTransientError } from '../db/errors.js';
import { lockRollupsShared, markDirtyBelowWatermark } from '../db/sql/citus.js';
import type { Db, Queryable } from '../db/types.js';
import { IotctlError } from '../errors.js';
import { BulkRanges, type BulkOptions, type BulkRange } from './bulk.js';
import type { Reading } from './mapping.js';

export interface LoaderOptions {
  batchSize: number;
  flushIntervalMs: number;
  workers: number;
  onConflict: OnConflict;
  retryTimeoutMs: number;
  /** Plain PostgreSQL mode: partitions are created before rows arrive for them. */
  partitions?: RowPlacer;
  /** The rollup each batch marks dirty in its own transaction when it is older than its watermark (Citus). */
  lateDataRollup?: string;
  /**
   * TimescaleDB on a server: chunk ranges with no chunk yet are loaded in bulk and attached (src/ingest/bulk.ts).
   * Used with --on-conflict skip only.
   */
  bulk?: BulkOptions;
  onRetry?: (err: unknown, attempt: number) => void;
  /** Ends a retry wait at once (SIGINT must not sit out --retry-timeout). */
  signal?: AbortSignal;
}

export interface LoaderCounts {
  loaded: number;
  updated: number;
  duplicates: number;
  batches: number;
  retries: number;
  /** Chunk ranges loaded in bulk and attached as chunks. */
  attachedChunks: number;
}

/** Waits `ms`; false when `signal` was aborted first. */
function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** SQLSTATEs after which the same batch can succeed: shutdown, starting up, too many connections, serialization failure, deadlock. */
const RETRY_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '40001', '40P01']);
/** Socket errors: the server went away or is not back yet. */
const RETRY_SOCKET_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);

/**
 * Whether retrying the batch can succeed: a lost connection (the Db layer says so from the client's state,
 * whatever the driver's message), a retryable SQLSTATE or class 08, a socket error, or a Citus worker's
 * failure (isWorkerTransientError, which reads the message of an XX000).
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof IotctlError) return err.code === 'CONNECTION' || isRetryable(err.cause);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  // A Citus worker's failure that reaches the coordinator as XX000 (COPY loses the worker's SQLSTATE).
  if (isWorkerTransientError(err)) return true;
  return RETRY_SQLSTATES.has(code) || code.startsWith('08') || RETRY_SOCKET_CODES.has(code);
}

/**
 * Runs fn again after transient errors, backing off from 250 ms to 5 s, until `timeoutMs` has passed;
 * an abort during a wait ends it with an INTERRUPTED error (the batch was not committed).
 */
export async function withRetry<T>(
  fn: () => Promise<T>,
  timeoutMs: number,
  onRetry?: (err: unknown, attempt: number) => void,
  signal?: AbortSignal,
): Promise<T> {
  const start = Date.now();
  let wait = 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isRetryable(err) || Date.now() - start + wait > timeoutMs) throw err;
      onRetry?.(err, attempt);
      if (!(await sleep(wait, signal))) {
        throw new IotctlError('INTERRUPTED', 'interrupted while retrying a batch (rolled back)', {
          cause: err,
        });
      }
      wait = Math.min(wait * 2, 5000);
    }
  }
}

/** One batch in columns (far less garbage than an object per reading); unknown series get ids -(k+1). */
class Batch {
  n = 0;
  started = Date.now();
  readonly sid: Int32Array;
  readonly us: Float64Array;
  readonly value: Float64Array;
  /** Series first seen in this batch, not yet in the cache: resolved when the batch is dispatched. */
  fresh: Reading[] = [];
  freshIndex = new Map<string, number>();

  constructor(size: number) {
    this.sid = new Int32Array(size);
    this.us = new Float64Array(size);
    this.value = new Float64Array(size);
  }

  /** Empties a dispatched batch for the next one (its columns are reused, not allocated again). */
  reuse(): this {
    this.n = 0;
    this.started = Date.now();
    this.fresh = [];
    this.freshIndex = new Map();
    return this;
  }
}

/** PostgreSQL's binary timestamps count microseconds from 2000-01-01. */
const PG_EPOCH_US = 946_684_800_000_000;
const TUPLE_BYTES = 2 + (4 + 8) + (4 + 4) + (4 + 8);

/** The bytes of `count` rows as COPY binary. */
export const copyBinaryBytes = (count: number) => COPY_SIGNATURE.length + 8 + count * TUPLE_BYTES + 2;

/**
 * Encodes rows (in `order`) as COPY binary: (time timestamptz, series_id int4, value float8); into the start
 * of `into` when it is large enough (the payload is then a view of it).
 */
export function encodeCopyBinary(
  sid: Int32Array,
  us: Float64Array,
  value: Float64Array,
  order: ArrayLike<number>,
  count: number,
  into?: Buffer,
): Buffer {
  const bytes = copyBinaryBytes(count);
  const buf = into && into.length >= bytes ? into.subarray(0, bytes) : Buffer.allocUnsafe(bytes);
  // A DataView: about 7x faster than Buffer's writeInt32BE family, which checks every offset (bench/ingest-batch.js).
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
  let o = COPY_SIGNATURE.copy(buf, 0);
  dv.setInt32(o, 0);
  dv.setInt32(o + 4, 0);
  o += 8;
  for (let k = 0; k < count; k++) {
    const i = order[k] as number;
    const t = us[i]! - PG_EPOCH_US;
    const hi = Math.floor(t / 4294967296);
    dv.setInt16(o, 3);
    dv.setInt32(o + 2, 8);
    dv.setInt32(o + 6, hi);
    dv.setUint32(o + 10, t - hi * 4294967296);
    dv.setInt32(o + 14, 4);
    dv.setInt32(o + 18, sid[i]!);
    dv.setInt32(o + 22, 8);
    dv.setFloat64(o + 26, value[i]!);
    o += TUPLE_BYTES;
  }
  dv.setInt16(o, -1);
  return buf;
}

/**
 * The batch's rows ordered by (series, time), ties in input order. Series ids are small dense integers, so a
 * counting sort by series keeps input order within each series, and a series whose readings arrive in time
 * order (the usual case) needs nothing more; one that goes back in time is sorted on its own. Far sparser ids
 * fall back to a comparison sort. Both give the same order (test/unit/ingest-sql.test.ts).
 */
export function sortBySeriesTime(sid: Int32Array, us: Float64Array, n: number): Uint32Array {
  const order = new Uint32Array(n);
  if (n === 0) return order;
  let min = sid[0]!;
  let max = sid[0]!;
  for (let i = 1; i < n; i++) {
    const s = sid[i]!;
    if (s < min) min = s;
    else if (s > max) max = s;
  }
  const byTime = (x: number, y: number) => us[x]! - us[y]! || x - y;
  if (max - min > 4 * n + 1024) {
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((x, y) => sid[x]! - sid[y]! || byTime(x, y));
    return order;
  }
  const next = new Uint32Array(max - min + 2);
  for (let i = 0; i < n; i++) next[sid[i]! - min + 1]!++;
  for (let s = 1; s < next.length; s++) next[s]! += next[s - 1]!;
  for (let i = 0; i < n; i++) order[next[sid[i]! - min]!++] = i;
  for (let k = 0; k < n;) {
    const s = sid[order[k]!];
    let e = k + 1;
    let sorted = true;
    for (; e < n && sid[order[e]!] === s; e++) if (us[order[e]!]! < us[order[e - 1]!]!) sorted = false;
    if (!sorted) order.subarray(k, e).sort(byTime);
    k = e;
  }
  return order;
}

/** The positions (in `order`, the first `count`) of the earliest and the latest reading. */
function extremes(us: Float64Array, order: ArrayLike<number>, count: number): [number, number] {
  let first = 0;
  let last = 0;
  for (let k = 1; k < count; k++) {
    const t = us[order[k]!]!;
    if (t < us[order[first]!]!) first = k;
    if (t > us[order[last]!]!) last = k;
  }
  return [first, last];
}

/**
 * Time ranges (µs) that batches wrote to, merged where they overlap; past MAX_RANGES they collapse into one
 * (a long stream of scattered batches), which can only widen what is analysed.
 */
export class TouchedRanges {
  static readonly MAX_RANGES = 1000;
  private list: Array<[number, number]> = [];

  add(fromUs: number, toUs: number): void {
    const last = this.list[this.list.length - 1];
    if (last && fromUs <= last[1] && toUs >= last[0]) {
      last[0] = Math.min(last[0], fromUs);
      last[1] = Math.max(last[1], toUs);
      return;
    }
    this.list.push([fromUs, toUs]);
    if (this.list.length > TouchedRanges.MAX_RANGES) {
      this.list = [[Math.min(...this.list.map((r) => r[0])), Math.max(...this.list.map((r) => r[1]))]];
    }
  }

  /** The ranges as [from, to] in milliseconds, both inclusive. */
  ranges(): Array<[number, number]> {
    return this.list.map(([a, b]) => [Math.floor(a / 1000), Math.ceil(b / 1000)]);
  }
}

export class Loader {
  /** The oldest reading handed to the database (µs since the epoch), for the "refresh the rollups" hint. */
  oldestUs: number | undefined;
  /** The time ranges of the batches handed to the database, for analysing the chunks they wrote to. */
  readonly touched = new TouchedRanges();
  readonly counts: LoaderCounts = {
    loaded: 0,
    updated: 0,
    duplicates: 0,
    batches: 0,
    retries: 0,
    attachedChunks: 0,
  };
  private readonly bulk: BulkRanges | undefined;
  /** A bulk range closes after this long without a batch, so that a paused input's readings become visible. */
  private readonly bulkIdleMs: number;
  private batch: Batch | null = null;
  /** device → metric → series id. */
  private readonly series = new Map<string, Map<string, number>>();
  private chain: Promise<void> = Promise.resolve();
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly db: Db,
    private readonly opts: LoaderOptions,
  ) {
    this.bulkIdleMs = Math.max(5 * opts.flushIntervalMs, 5000);
    this.bulk =
      opts.bulk && opts.onConflict === 'skip'
        ? new BulkRanges(
            db,
            opts.bulk,
            (range, result) => {
              this.counts.batches += range.batches;
              this.counts.loaded += result.loaded;
              this.counts.duplicates += result.duplicates;
              if (result.attached) this.counts.attachedChunks++;
            },
            (err) => {
              this.failure ??= err;
            },
          )
        : undefined;
    // Slow inputs (tail -F | iotctl ingest -) still become queryable about --flush-interval after arrival.
    this.timer = setInterval(
      () => {
        // A failure is kept in this.failure and surfaces through add() and finish(), not as an
        // unhandled rejection.
        if (this.batch && Date.now() - this.batch.started >= opts.flushIntervalMs)
          this.flush().catch(() => undefined);
        // Closed in the dispatch chain, never while a batch is being routed to the ranges.
        if (this.bulk?.hasIdle(this.bulkIdleMs)) {
          const bulk = this.bulk;
          this.chain = this.chain.then(() => bulk.closeIdle(this.bulkIdleMs));
        }
      },
      Math.max(20, Math.floor(opts.flushIntervalMs / 4)),
    );
    this.timer.unref();
  }

  /** Batches handed to flush() whose dispatch (series, partitions, a free worker) has not finished. */
  private queued = 0;

  /**
   * Adds a reading; returns a promise (to await) when the batch was full and has been handed on, or
   * when batches flushed by the timer still wait for a worker (so a slow database holds the reader back).
   */
  add(
    device: string,
    metric: string,
    us: number,
    value: number,
    unit: string | null,
    tags: string | null,
  ): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    const b = (this.batch ??= this.spare.pop()?.reuse() ?? new Batch(this.opts.batchSize));
    let id = this.series.get(device)?.get(metric);
    if (id === undefined) {
      const key = device + '\u0000' + metric;
      let k = b.freshIndex.get(key);
      if (k === undefined) {
        k = b.fresh.push({ device, metric, us, value, unit, tags }) - 1;
        b.freshIndex.set(key, k);
      }
      id = -(k + 1);
    }
    b.sid[b.n] = id;
    b.us[b.n] = us;
    b.value[b.n] = value;
    b.n++;
    if (b.n >= this.opts.batchSize) return this.flush();
    return this.queued > 0 ? this.chain : undefined;
  }

  /** Hands the current batch on; resolves once it is prepared and a worker has taken it. */
  flush(): Promise<void> {
    const batch = this.batch;
    if (batch) {
      this.batch = null;
      this.queued++;
      this.chain = this.chain
        .then(() => (this.failure ? undefined : this.dispatch(batch)))
        .catch((err) => {
          this.failure ??= err;
        })
        .finally(() => this.queued--);
    }
    const done = this.chain.then(() => {
      if (this.failure) throw this.failure;
    });
    // Marked handled: a caller may drop this promise for a later one (a wide row fills a batch and its next
    // reading gets the chain), and the failure reaches it anyway through add() and finish(). Unobserved, a
    // failed batch was an unhandled rejection: a stack trace and exit 1 instead of the error and its code.
    done.catch(() => undefined);
    return done;
  }

  /** Flushes and waits for every batch to commit. */
  async finish(): Promise<void> {
    clearInterval(this.timer);
    await this.flush().catch(() => undefined);
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
    if (this.bulk && !this.failure) await this.bulk.closeAll().catch((err) => (this.failure ??= err));
    if (this.failure) throw this.failure;
  }

  /** Stops the timer without committing what is still batched (after a fatal error). */
  stop(): Promise<void> {
    clearInterval(this.timer);
    this.batch = null;
    return Promise.all([this.chain, ...this.inFlight])
      .then(() => this.bulk?.abortAll())
      .then(() => undefined);
  }

  /** Gives the batch's new series their ids (one upsert) and replaces the placeholders. */
  private async resolveSeries(b: Batch): Promise<void> {
    if (b.fresh.length === 0) return;
    const sql = upsertSeries(
      b.fresh.map((r) => r.device),
      b.fresh.map((r) => r.metric),
      b.fresh.map((r) => r.unit),
      b.fresh.map((r) => r.tags),
    );
    const res = await this.retrying(() =>
      this.db.query<{ id: number; device_id: string; metric: string }>(sql),
    );
    const ids = new Map(res.rows.map((row) => [row.device_id + '\u0000' + row.metric, row.id]));
    const byIndex = b.fresh.map((r) => ids.get(r.device + '\u0000' + r.metric) as number);
    for (const r of b.fresh) {
      let metrics = this.series.get(r.device);
      if (!metrics) this.series.set(r.device, (metrics = new Map()));
      metrics.set(r.metric, ids.get(r.device + '\u0000' + r.metric) as number);
    }
    for (let i = 0; i < b.n; i++) if (b.sid[i]! < 0) b.sid[i] = byIndex[-b.sid[i]! - 1]!;
  }

  private retried = (err: unknown, attempt: number) => {
    this.counts.retries++;
    this.opts.onRetry?.(err, attempt);
  };

  /**
   * Dispatched batches whose columns the next batches reuse: a new batch's 1 MB of typed arrays (at the
   * default --batch-size) is fresh memory the system has to map and zero, 100 times in a 5M-row load.
   */
  private readonly spare: Batch[] = [];
  /**
   * COPY payloads of a full batch's size whose COPY has finished, for the next batches to encode into. Fresh
   * 1.7 MB buffers for every batch left the peak RSS of a 5M-row load anywhere from 115 to 149 MB (freed
   * buffers are returned to the system late, and unevenly); reused, it stays at the low end.
   */
  private readonly payloads: Buffer[] = [];

  private payloadBuffer(rows: number): Buffer | undefined {
    if (rows > this.opts.batchSize) return undefined;
    return this.payloads.pop() ?? Buffer.allocUnsafe(copyBinaryBytes(this.opts.batchSize));
  }

  /** Gives a payload's buffer back once its COPY has finished (never after a failure: it may still be read). */
  private reusePayload(buffer: Buffer | undefined): void {
    if (buffer && this.payloads.length < this.opts.workers) this.payloads.push(buffer);
  }

  /** Prepares a batch in the reader's order (series, partitions) and starts its transaction. */
  private async dispatch(b: Batch): Promise<void> {
    try {
      await this.prepare(b);
    } finally {
      // Every use of the batch's columns is over: its rows were encoded into payloads.
      if (this.spare.length < 2) this.spare.push(b);
    }
  }

  private async prepare(b: Batch): Promise<void> {
    await this.resolveSeries(b);
    const { sid, us, n } = b;
    // Sorted by (series, time), a batch touches each index page once (the issue measured ~1.5x faster).
    // Ties keep input order, so the last reading of a (series, time) is the one kept.
    const order = sortBySeriesTime(sid, us, n);
    let kept = 0;
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      const next = k + 1 < n ? order[k + 1]! : -1;
      if (next >= 0 && sid[next] === sid[i] && us[next] === us[i]) continue;
      order[kept++] = i;
    }
    let inBatchDuplicates = n - kept;
    if (this.bulk && kept) {
      // The whole batch's span: the chunks analysed after the load include the attached ones.
      const [first, last] = extremes(us, order, kept);
      this.touched.add(us[order[first]!]!, us[order[last]!]!);
      const rest = await this.routeBulk(this.bulk, b, order, kept);
      if (rest < kept) {
        // Counted here once: the normal write below (if any rows are left for it) counts none.
        this.counts.duplicates += inBatchDuplicates;
        inBatchDuplicates = 0;
        kept = rest;
        if (kept === 0) return;
      }
    }
    let place: (() => Promise<void>) | undefined;
    if (this.opts.partitions) {
      const partitions = this.opts.partitions;
      const iv = partitions.intervalMs;
      const times = new Set<number>();
      for (let k = 0; k < kept; k++) times.add(Math.floor(us[order[k]!]! / 1000 / iv) * iv);
      place = async () => {
        await this.retrying(() => partitions.ensureFor(times));
      };
      await place();
    }
    const buffer = this.payloadBuffer(kept);
    const payload = encodeCopyBinary(sid, us, b.value, order, kept, buffer);
    while (this.inFlight.size >= this.opts.workers) await Promise.race(this.inFlight);
    if (this.failure) return;
    const [first, last] = extremes(us, order, kept);
    const oldest = us[order[first]!]!;
    if (kept) this.touched.add(oldest, us[order[last]!]!);
    const job: Promise<void> = this.writePlaced(
      payload,
      kept,
      inBatchDuplicates,
      place,
      kept ? oldest : undefined,
    )
      .then(() => this.reusePayload(buffer))
      .catch((err) => {
        this.failure ??= err;
      })
      .finally(() => this.inFlight.delete(job));
    this.inFlight.add(job);
  }

  /**
   * Hands the batch's rows of bulk ranges to them (one payload per range, in the batch's order) and compacts the
   * rest at the front of `order`; returns how many rows are left for the normal path.
   */
  private async routeBulk(bulk: BulkRanges, b: Batch, order: Uint32Array, kept: number): Promise<number> {
    const { us } = b;
    const perRange = new Map<number, number>();
    // Runs of one range (most batches lie within one) cost one map update each.
    let runStart = NaN;
    let runRows = 0;
    for (let k = 0; k < kept; k++) {
      const start = bulk.rangeOf(us[order[k]!]!);
      if (start === runStart) {
        runRows++;
        continue;
      }
      if (runRows) perRange.set(runStart, (perRange.get(runStart) ?? 0) + runRows);
      runStart = start;
      runRows = 1;
    }
    if (runRows) perRange.set(runStart, (perRange.get(runStart) ?? 0) + runRows);
    // Oldest range first, each range's rows sent as soon as it is taken: taking a later range may close an
    // earlier one (at most maxOpen are open), and a range must have its rows before it closes.
    const starts = [...perRange.keys()].sort((x, y) => x - y);
    const taken = new Set<number>();
    for (const start of starts) {
      const range = await bulk.take(start, perRange.get(start)!);
      if (!range) continue;
      taken.add(start);
      if (starts.length === 1) {
        // The whole batch goes to one range: `order` is its payload as it is.
        await this.sendBulk(range, b, order.subarray(0, kept));
        return 0;
      }
      const sub = new Uint32Array(perRange.get(start)!);
      let f = 0;
      for (let k = 0; k < kept; k++) {
        const i = order[k]!;
        if (bulk.rangeOf(us[i]!) === start) sub[f++] = i;
      }
      await this.sendBulk(range, b, sub);
    }
    if (taken.size === 0) return kept;
    let rest = 0;
    for (let k = 0; k < kept; k++) {
      const i = order[k]!;
      if (!taken.has(bulk.rangeOf(us[i]!))) order[rest++] = i;
    }
    return rest;
  }

  /** Sends one range its rows of the batch (`sub`: indexes into the batch), as a job in flight. */
  private async sendBulk(range: BulkRange, b: Batch, sub: Uint32Array): Promise<void> {
    const { sid, us, value } = b;
    const [f, l] = extremes(us, sub, sub.length);
    const first = sub[f]!;
    const last = sub[l]!;
    this.oldestUs = Math.min(this.oldestUs ?? us[first]!, us[first]!);
    const buffer = this.payloadBuffer(sub.length);
    const payload = encodeCopyBinary(sid, us, value, sub, sub.length, buffer);
    while (this.inFlight.size >= this.opts.workers) await Promise.race(this.inFlight);
    if (this.failure) return;
    const job: Promise<void> = range
      .send(payload, sub.length, { sid: sid[first]!, us: us[first]! }, { sid: sid[last]!, us: us[last]! })
      .then(() => this.reusePayload(buffer))
      .catch((err) => {
        this.failure ??= err;
      })
      .finally(() => this.inFlight.delete(job));
    this.inFlight.add(job);
  }

  /**
   * Plain mode: a partition this run created can be dropped under it (retention from cron's maintain, for
   * readings older than its cutoff), and the batch then fails 23514 "no partition of relation points found".
   * The partition is created again, once, and the batch written: those readings are kept until the next
   * retention run drops them, counted as loaded like any other.
   */
  private async writePlaced(
    payload: Buffer,
    rows: number,
    inBatchDuplicates: number,
    place?: () => Promise<void>,
    oldestUs?: number,
  ): Promise<void> {
    if (oldestUs !== undefined) this.oldestUs = Math.min(this.oldestUs ?? oldestUs, oldestUs);
    try {
      await this.write(payload, rows, inBatchDuplicates, oldestUs);
    } catch (err) {
      const code = (err as { cause?: { code?: string } }).cause?.code;
      if (code !== '23514' || !place || !this.opts.partitions) throw err;
      this.opts.partitions.forget();
      await place();
      await this.write(payload, rows, inBatchDuplicates, oldestUs);
    }
  }

  /** Set after a batch met stored readings: the next ones go through staging until one meets none. */
  private staging = false;

  /**
   * Where no trigger tracks late rows: marks the rollup dirty from the batch's oldest reading when that is
   * below its watermark, in the batch's transaction, after taking the rollup lock shared (a refresh holds it
   * exclusive, so it either saw this batch or is followed by the mark). Milliseconds floor the time: a mark a
   * little early only widens the next refresh.
   */
  private async markLate(tx: Queryable, oldestUs: number | undefined): Promise<void> {
    const rollup = this.opts.lateDataRollup;
    if (!rollup || oldestUs === undefined) return;
    await tx.query(lockRollupsShared);
    await tx.query(markDirtyBelowWatermark(rollup, new Date(Math.floor(oldestUs / 1000))));
  }

  private async write(
    payload: Buffer,
    rows: number,
    inBatchDuplicates: number,
    oldestUs?: number,
  ): Promise<void> {
    const onConflict = this.opts.onConflict;
    let result: { inserted: number; written: number } | undefined;
    if (onConflict !== 'update' && !(onConflict === 'skip' && this.staging)) {
      // New readings (the common case) COPY straight into points: 2.3x faster than staging (bench/ingest.js).
      try {
        await this.retrying(() =>
          this.db.transaction(async (tx) => {
            await tx.copyFrom(copyPoints().text, payload);
            await this.markLate(tx, oldestUs);
          }),
        );
        result = { inserted: rows, written: rows };
      } catch (err) {
        const cause = (err as { cause?: { code?: string; detail?: string } }).cause;
        if (!isUniqueViolation(cause)) throw err;
        if (onConflict === 'error') {
          throw new IotctlError(
            'DATABASE',
            `--on-conflict error: a reading is already stored (${cause?.detail ?? 'duplicate key'}); that batch was rolled back`,
            {
              hint: 'use --on-conflict skip to keep stored readings or update to overwrite them',
              cause: err,
            },
          );
        }
        this.staging = true;
      }
    }
    result ??= await this.retrying(() =>
      this.db.transaction(async (tx) => {
        await tx.query(createStage());
        await tx.copyFrom(copyStage().text, payload);
        const stored =
          onConflict === 'update' ? (await tx.query<{ n: number }>(countStoredFromStage())).rows[0]!.n : 0;
        const written = (await tx.query<{ n: number }>(insertFromStage(onConflict))).rows[0]!.n;
        await this.markLate(tx, oldestUs);
        return { inserted: onConflict === 'update' ? rows - stored : written, written };
      }),
    );
    if (onConflict === 'skip' && result.written === rows) this.staging = false;
    this.counts.batches++;
    this.counts.loaded += result.written;
    this.counts.updated += result.written - result.inserted;
    this.counts.duplicates += inBatchDuplicates + (rows - result.written);
  }

  private retrying<T>(fn: () => Promise<T>): Promise<T> {
    return withRetry(fn, this.opts.retryTimeoutMs, this.retried, this.opts.signal);
  }
}
