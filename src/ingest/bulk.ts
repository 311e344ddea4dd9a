// Bulk ranges (TimescaleDB on a server): readings of a chunk range that had no chunk when ingest first met it
// are COPYed, batch after batch, into a table of their own with no index, in one transaction on a connection of
// their own; when the range is closed (the input moved on, it went quiet, or the input ended) the duplicates
// between its batches are removed and counted, and attach_chunk makes the table the range's chunk, building its
// unique index in one sorted pass. If a chunk appeared in the range meanwhile (another ingest), the readings go
// in with INSERT ... ON CONFLICT DO NOTHING instead. Nothing of a range is visible, or stored, before it closes.
import { randomBytes } from 'node:crypto';
import {
  attachChunk,
  bulkTableName,
  bulkTransactionSettings,
  chunksInRange,
  copyBulk,
  createBulkTable,
  dedupeBulk,
  dropBulkTable,
  insertFromBulk,
  lockPointsForAttach,
  touchRangeEnds,
} from '../db/sql/attach.js';
import { isUniqueViolation } from '../db/errors.js';
import type { Db, Tx } from '../db/types.js';
import { IotctlError } from '../errors.js';

export interface BulkRangeResult {
  /** Readings stored (written once each). */
  loaded: number;
  /** Readings written to the range twice (in different batches), or already stored when a chunk appeared. */
  duplicates: number;
  /** Whether the table became the chunk (false: a chunk appeared meanwhile and the readings were inserted). */
  attached: boolean;
}

interface Pending {
  payload: Buffer;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const END = Symbol('end');

/** One open range: its transaction runs as long as batches keep arriving. */
export class BulkRange {
  readonly name: string;
  rows = 0;
  batches = 0;
  lastUsed = Date.now();
  private first: { sid: number; us: number } | undefined;
  private last: { sid: number; us: number } | undefined;
  private readonly queue: Array<Pending | typeof END> = [];
  private wake: (() => void) | undefined;
  private closed = false;
  private aborted = false;
  readonly done: Promise<BulkRangeResult>;

  constructor(
    db: Db,
    readonly startUs: number,
    readonly endUs: number,
  ) {
    this.name = bulkTableName(startUs, randomBytes(4).toString('hex'));
    this.done = db.transaction((tx) => this.run(tx));
    // Failures reach the loader through send() and done; never an unhandled rejection.
    this.done.catch(() => undefined);
  }

  /** Queues one COPY payload (rows of this range only); resolves once it is in the range's table. */
  send(
    payload: Buffer,
    rows: number,
    first: { sid: number; us: number },
    last: { sid: number; us: number },
  ): Promise<void> {
    // Rows queued behind the end would never be written, and the load would wait for them forever.
    if (this.closed)
      return Promise.reject(new Error(`internal error: rows sent to the closed bulk range ${this.name}`));
    this.lastUsed = Date.now();
    this.rows += rows;
    this.batches++;
    if (!this.first || first.us < this.first.us) this.first = first;
    if (!this.last || last.us > this.last.us) this.last = last;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ payload, resolve, reject });
      this.wake?.();
    });
  }

  /** No more batches: dedupe, attach, commit. */
  close(): Promise<BulkRangeResult> {
    if (!this.closed) {
      this.closed = true;
      this.queue.push(END);
      this.wake?.();
    }
    return this.done;
  }

  /** Rolls the range back (after a fatal error elsewhere): nothing of it is stored. */
  abort(): Promise<unknown> {
    this.aborted = true;
    this.close().catch(() => undefined);
    return this.done.catch(() => undefined);
  }

  private async next(): Promise<Pending | typeof END> {
    while (this.queue.length === 0) await new Promise<void>((r) => (this.wake = r));
    this.wake = undefined;
    return this.queue.shift()!;
  }

  private async run(tx: Tx): Promise<BulkRangeResult> {
    try {
      for (const setting of bulkTransactionSettings) await tx.query(setting);
      await tx.query(createBulkTable(this.name));
      for (;;) {
        const item = await this.next();
        if (item === END || this.aborted) break;
        try {
          await tx.copyFrom(copyBulk(this.name).text, item.payload);
        } catch (err) {
          this.queue.unshift(item);
          throw err;
        }
        item.resolve();
      }
      if (this.aborted) throw new Error('bulk range rolled back');
      return await this.attach(tx);
    } catch (err) {
      const wrapped = this.aborted ? err : this.failed(err);
      // Batches still queued behind a failure fail with it.
      for (const item of this.queue.splice(0)) if (item !== END) item.reject(wrapped);
      throw wrapped;
    }
  }

  /** The error a failed range ends the ingest with: what was not stored, and that a re-run is safe. */
  private failed(err: unknown): IotctlError {
    const from = new Date(this.startUs / 1000).toISOString();
    const to = new Date(this.endUs / 1000).toISOString();
    const message = err instanceof Error ? err.message : String(err);
    return new IotctlError(
      err instanceof IotctlError ? err.code : 'DATABASE',
      `loading the chunk range ${from} to ${to} in bulk failed, and none of its ${this.rows} readings were stored: ${message}`,
      { hint: 'run the same ingest again: readings already stored are skipped', cause: err },
    );
  }

  private async attach(tx: Tx): Promise<BulkRangeResult> {
    const from = new Date(this.startUs / 1000);
    const to = new Date(this.endUs / 1000);
    if (this.rows === 0) {
      await tx.query(dropBulkTable(this.name));
      return { loaded: 0, duplicates: 0, attached: false };
    }
    await tx.query(lockPointsForAttach);
    const existing = (await tx.query<{ n: number }>(chunksInRange(from, to))).rows[0]!.n;
    if (existing > 0) {
      const written = (await tx.query<{ n: number }>(insertFromBulk(this.name))).rows[0]!.n;
      await tx.query(dropBulkTable(this.name));
      return { loaded: written, duplicates: this.rows - written, attached: false };
    }
    let duplicates = 0;
    await tx.query('SAVEPOINT iotctl_attach');
    try {
      await tx.query(attachChunk(this.name, from, to));
    } catch (err) {
      if (!isUniqueViolation(err) && !isUniqueViolation((err as { cause?: unknown }).cause)) throw err;
      await tx.query('ROLLBACK TO SAVEPOINT iotctl_attach');
      duplicates = (await tx.query<{ n: number }>(dedupeBulk(this.name))).rows[0]!.n;
      await tx.query(attachChunk(this.name, from, to));
    }
    const first = this.first!;
    const last = this.last!;
    await tx.query(
      touchRangeEnds(
        { sid: first.sid, time: new Date(first.us / 1000) },
        { sid: last.sid, time: new Date(last.us / 1000) },
      ),
    );
    return { loaded: this.rows - duplicates, duplicates, attached: true };
  }
}

export interface BulkOptions {
  /** The hypertable's chunk interval (µs). */
  intervalUs: number;
  /** Rows of one range a batch must hold before the range is loaded in bulk. */
  minRows: number;
  /** Ranges open at once (each holds a connection). */
  maxOpen: number;
}

/** The chunk ranges a load has met: which are open in bulk, and which take the normal path. */
export class BulkRanges {
  private readonly open = new Map<number, BulkRange>();
  /** Ranges that take the normal path for the rest of this run (a chunk existed, or a range was closed). */
  private readonly normal = new Set<number>();

  constructor(
    private readonly db: Db,
    readonly opts: BulkOptions,
    private readonly onClosed: (range: BulkRange, result: BulkRangeResult) => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** The start (µs) of the chunk range holding `us`, aligned as TimescaleDB aligns a new chunk. */
  rangeOf(us: number): number {
    const iv = this.opts.intervalUs;
    return Math.floor(us / iv) * iv;
  }

  /**
   * The open range for `start`, opening it when the batch brings enough of its rows and no chunk holds it yet;
   * undefined when these rows take the normal path.
   */
  async take(start: number, rows: number): Promise<BulkRange | undefined> {
    const open = this.open.get(start);
    if (open) return open;
    if (this.normal.has(start)) return undefined;
    const end = start + this.opts.intervalUs;
    // Only ranges wholly in the past (history loads): readings of the current range must stay visible within
    // --flush-interval, which a range held open until the input moves on would break.
    if (rows < this.opts.minRows || end > Date.now() * 1000) {
      // These rows create the chunk through the normal path: the range cannot be attached any more.
      this.normal.add(start);
      return undefined;
    }
    const existing = (
      await this.db.query<{ n: number }>(chunksInRange(new Date(start / 1000), new Date(end / 1000)))
    ).rows[0]!.n;
    if (existing > 0) {
      this.normal.add(start);
      return undefined;
    }
    while (this.open.size >= this.opts.maxOpen) this.closeOne(this.leastRecent()!);
    const range = new BulkRange(this.db, start, end);
    this.open.set(start, range);
    return range;
  }

  private leastRecent(): BulkRange | undefined {
    let oldest: BulkRange | undefined;
    for (const r of this.open.values()) if (!oldest || r.lastUsed < oldest.lastUsed) oldest = r;
    return oldest;
  }

  /** Starts closing a range (dedupe, attach, commit) without waiting for it: the loader tracks `closing`. */
  private closeOne(range: BulkRange): void {
    this.open.delete(range.startUs);
    this.normal.add(range.startUs);
    const closing: Promise<void> = range.close().then(
      (result) => this.onClosed(range, result),
      (err) => {
        this.onError(err);
        throw err;
      },
    );
    this.closing.add(closing);
    closing.then(
      () => this.closing.delete(closing),
      () => undefined,
    );
  }

  /** Ranges being attached; a failed one stays here, so that settle() reports it. */
  private readonly closing = new Set<Promise<void>>();

  /** Waits for every range being closed; throws the first failure. */
  async settle(): Promise<void> {
    while (this.closing.size) await Promise.all([...this.closing]);
  }

  /** Whether a range has had no batch for `idleMs`. */
  hasIdle(idleMs: number): boolean {
    const now = Date.now();
    for (const r of this.open.values()) if (now - r.lastUsed >= idleMs) return true;
    return false;
  }

  /** Starts closing the ranges no batch has written to for `idleMs`. */
  closeIdle(idleMs: number): void {
    const now = Date.now();
    for (const r of [...this.open.values()]) if (now - r.lastUsed >= idleMs) this.closeOne(r);
  }

  /** Closes every open range and waits for all of them. */
  async closeAll(): Promise<void> {
    for (const r of [...this.open.values()]) this.closeOne(r);
    await this.settle();
  }

  async abortAll(): Promise<void> {
    const ranges = [...this.open.values()];
    this.open.clear();
    await Promise.all(ranges.map((r) => r.abort()));
    // Ranges already being attached finish (or fail) before the load reports its end.
    await this.settle().catch(() => undefined);
  }
}
