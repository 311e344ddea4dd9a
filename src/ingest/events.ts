// Batching and writing of events (text and boolean values): series resolved like the readings' (the series
// table is shared), each batch sorted and de-duplicated by (series, time), staged and moved into iotctl.events
// with ON CONFLICT in one transaction, so a re-ingest counts duplicates exactly as the readings do.
import type { RowPlacer } from '../engine/types.js';
import { upsertSeries, type OnConflict } from '../db/sql/ingest.js';
import { countStoredEvents, createEventStage, insertEventsFromStage, stageEvents } from '../db/sql/events.js';
import { isUniqueViolation } from '../db/errors.js';
import type { Db } from '../db/types.js';
import { IotctlError } from '../errors.js';
import { withRetry } from './loader.js';

export interface EventLoaderOptions {
  batchSize: number;
  flushIntervalMs: number;
  onConflict: OnConflict;
  retryTimeoutMs: number;
  /** Plain PostgreSQL mode: partitions of iotctl.events created before rows arrive for them. */
  partitions?: RowPlacer;
  onRetry?: (err: unknown, attempt: number) => void;
  signal?: AbortSignal;
}

export interface EventCounts {
  loaded: number;
  updated: number;
  duplicates: number;
  batches: number;
}

interface PendingEvent {
  device: string;
  metric: string;
  us: number;
  value: string;
  level: string | null;
  payload: string | null;
  unit: string | null;
  tags: string | null;
}

/** Epoch microseconds as ISO 8601 text with all six fractional digits (years 1-9999). */
export function isoMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const rest = us - ms * 1000;
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, -1)}${String(Math.round(rest)).padStart(3, '0')}Z`;
}

export class EventLoader {
  readonly counts: EventCounts = { loaded: 0, updated: 0, duplicates: 0, batches: 0 };
  /** The oldest event written (µs), for the caller's summary. */
  oldestUs: number | undefined;
  private batch: PendingEvent[] = [];
  private batchStarted = 0;
  private readonly series = new Map<string, number>();
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly db: Db,
    private readonly opts: EventLoaderOptions,
  ) {
    this.timer = setInterval(
      () => {
        if (this.batch.length && Date.now() - this.batchStarted >= opts.flushIntervalMs)
          this.flush().catch(() => undefined);
      },
      Math.max(20, Math.floor(opts.flushIntervalMs / 4)),
    );
    this.timer.unref();
  }

  /** Adds an event; returns a promise to await when the batch was full and is being written. */
  add(
    device: string,
    metric: string,
    us: number,
    value: string,
    level: string | null,
    payload: string | null,
    unit: string | null,
    tags: string | null,
  ): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    if (this.batch.length === 0) this.batchStarted = Date.now();
    this.batch.push({ device, metric, us, value, level, payload, unit, tags });
    if (this.batch.length >= this.opts.batchSize) return this.flush();
    return undefined;
  }

  /** Writes the current batch after those before it; resolves when it is committed. */
  flush(): Promise<void> {
    const batch = this.batch;
    if (batch.length) {
      this.batch = [];
      this.chain = this.chain
        .then(() => (this.failure ? undefined : this.write(batch)))
        .catch((err) => {
          this.failure ??= err;
        });
    }
    const done = this.chain.then(() => {
      if (this.failure) throw this.failure;
    });
    done.catch(() => undefined);
    return done;
  }

  async finish(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /** Stops without writing what is still batched (after a fatal error). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.batch = [];
    await this.chain;
  }

  private retrying<T>(fn: () => Promise<T>): Promise<T> {
    return withRetry(fn, this.opts.retryTimeoutMs, this.opts.onRetry, this.opts.signal);
  }

  private async resolveSeries(batch: PendingEvent[]): Promise<number[]> {
    const key = (e: PendingEvent) => e.device + '\u0000' + e.metric;
    const fresh = new Map<string, PendingEvent>();
    for (const e of batch) if (!this.series.has(key(e)) && !fresh.has(key(e))) fresh.set(key(e), e);
    if (fresh.size) {
      const list = [...fresh.values()];
      const sql = upsertSeries(
        list.map((e) => e.device),
        list.map((e) => e.metric),
        list.map((e) => e.unit),
        list.map((e) => e.tags),
      );
      const res = await this.retrying(() =>
        this.db.query<{ id: number; device_id: string; metric: string }>(sql),
      );
      for (const r of res.rows) this.series.set(r.device_id + '\u0000' + r.metric, r.id);
    }
    return batch.map((e) => this.series.get(key(e)) as number);
  }

  private async write(batch: PendingEvent[]): Promise<void> {
    const sid = await this.resolveSeries(batch);
    // Sorted by (series, time), ties in input order: the last event of a (series, time) is the one kept.
    const order = batch.map((_, i) => i);
    order.sort((x, y) => sid[x]! - sid[y]! || batch[x]!.us - batch[y]!.us || x - y);
    const kept: number[] = [];
    for (let k = 0; k < order.length; k++) {
      const i = order[k]!;
      const next = order[k + 1];
      if (next !== undefined && sid[next] === sid[i] && batch[next]!.us === batch[i]!.us) continue;
      kept.push(i);
    }
    const inBatchDuplicates = batch.length - kept.length;
    const partitions = this.opts.partitions;
    const place = async () => {
      if (!partitions) return;
      const iv = partitions.intervalMs;
      const times = new Set(kept.map((i) => Math.floor(batch[i]!.us / 1000 / iv) * iv));
      await this.retrying(() => partitions.ensureFor(times));
    };
    await place();
    const stage = stageEvents(
      kept.map((i) => isoMicros(batch[i]!.us)),
      kept.map((i) => sid[i]!),
      kept.map((i) => batch[i]!.value),
      kept.map((i) => batch[i]!.level),
      kept.map((i) => batch[i]!.payload),
    );
    const onConflict = this.opts.onConflict;
    const run = () =>
      this.retrying(() =>
        this.db.transaction(async (tx) => {
          await tx.query(createEventStage());
          await tx.query(stage);
          const stored =
            onConflict === 'update' ? (await tx.query<{ n: number }>(countStoredEvents())).rows[0]!.n : 0;
          const written = (await tx.query<{ n: number }>(insertEventsFromStage(onConflict))).rows[0]!.n;
          return { inserted: onConflict === 'update' ? kept.length - stored : written, written };
        }),
      );
    let result: { inserted: number; written: number };
    try {
      result = await run();
    } catch (err) {
      const cause = (err as { cause?: { code?: string; detail?: string } }).cause;
      if (onConflict === 'error' && isUniqueViolation(cause)) {
        throw new IotctlError(
          'DATABASE',
          `--on-conflict error: an event is already stored (${cause?.detail ?? 'duplicate key'}); that batch was rolled back`,
          { hint: 'use --on-conflict skip to keep stored events or update to overwrite them', cause: err },
        );
      }
      // A partition this run created was dropped under it by retention (see Loader.writePlaced).
      if (cause?.code !== '23514' || !partitions) throw err;
      partitions.forget();
      await place();
      result = await run();
    }
    for (const i of kept) this.oldestUs = Math.min(this.oldestUs ?? batch[i]!.us, batch[i]!.us);
    this.counts.batches++;
    this.counts.loaded += result.written;
    this.counts.updated += result.written - result.inserted;
    this.counts.duplicates += inBatchDuplicates + (kept.length - result.written);
  }
}
