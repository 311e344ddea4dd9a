// `iotctl compress`: the compression policy, and compressing or decompressing chunks now (TimescaleDB only).
import type { ChunkRow } from '../db/sql/maintenance.js';
import { loadStore, type Store } from '../db/store.js';
import { hasEventsTable } from '../engine/common.js';
import type { Db } from '../db/types.js';
import { usageError } from '../errors.js';
import { findPolicy, needsCompression } from './policies.js';
import { dbCutoff } from './retention.js';
import { parseDuration, type Duration } from '../util/duration.js';
import { withMaintenanceLock } from './lock.js';
import { compressionRatio } from '../output/maintenance.js';

/** Without --older-than and without a policy, chunks older than this are compressed. */
export const DEFAULT_COMPRESS_AFTER = '7d';

export interface ChunkChange {
  chunk: string;
  rangeStart: Date;
  rangeEnd: Date;
  bytesBefore: number;
  bytesAfter: number | null;
  ratio: number | null;
}

/** Told before each chunk is (de)compressed, so a printer can show progress. */
export interface ChunkProgress {
  verb: 'compressing' | 'decompressing';
  /** 0-based. */
  index: number;
  total: number;
  chunk: string;
  bytes: number;
  /** Of every chunk in this run. */
  totalBytes: number;
}

export interface CompressResult {
  dryRun: boolean;
  cutoff: Date | null;
  chunks: ChunkChange[];
  totals: { chunks: number; bytesBefore: number; bytesAfter: number | null; ratio: number | null };
  seconds: number;
}

export async function compressingStore(db: Db): Promise<Store> {
  const store = await loadStore(db);
  needsCompression(store, 'compression');
  return store;
}

async function applyToChunks(
  db: Db,
  store: Store,
  chunks: ChunkRow[],
  opts: { dryRun: boolean; cutoff: Date | null; compress: boolean; onChunk?: (p: ChunkProgress) => void },
): Promise<CompressResult> {
  const started = Date.now();
  const verb = opts.compress ? 'compressing' : 'decompressing';
  const totalBytes = chunks.reduce((n, c) => n + c.bytes, 0);
  if (!opts.dryRun) {
    await withMaintenanceLock(db, `compress ${opts.compress ? 'run' : 'undo'}`, async () => {
      for (const [i, c] of chunks.entries()) {
        opts.onChunk?.({ verb, index: i, total: chunks.length, chunk: c.chunk, bytes: c.bytes, totalBytes });
        // One statement per chunk, each its own transaction: an interruption keeps the chunks already done.
        await db.query(
          opts.compress ? store.engine.compressChunk(c.chunk) : store.engine.decompressChunk(c.chunk),
        );
      }
    });
  }
  const after = opts.dryRun
    ? new Map<string, ChunkRow>()
    : new Map((await storeChunks(db, store)).map((r) => [r.chunk, r]));
  const changes = chunks.map((c): ChunkChange => {
    const bytesAfter = after.get(c.chunk)?.bytes ?? null;
    return {
      chunk: c.chunk,
      rangeStart: c.range_start,
      rangeEnd: c.range_end,
      bytesBefore: c.bytes,
      bytesAfter,
      ratio: opts.compress ? compressionRatio(c.bytes, bytesAfter) : null,
    };
  });
  const bytesBefore = changes.reduce((s, c) => s + c.bytesBefore, 0);
  const bytesAfter = opts.dryRun ? null : changes.reduce((s, c) => s + (c.bytesAfter ?? 0), 0);
  return {
    dryRun: opts.dryRun,
    cutoff: opts.cutoff,
    chunks: changes,
    totals: {
      chunks: changes.length,
      bytesBefore,
      bytesAfter,
      // A ratio describes compression; after decompressing it would only be its inverse.
      ratio: opts.compress ? compressionRatio(bytesBefore, bytesAfter) : null,
    },
    seconds: (Date.now() - started) / 1000,
  };
}

/**
 * The chunks of the readings and of the events (compressed alike, under the readings' policy), the readings'
 * first; with `olderThan` only those entirely older.
 */
async function storeChunks(db: Db, store: Store, olderThan?: Date): Promise<ChunkRow[]> {
  const points = await store.engine.listChunks(db, 'points', olderThan);
  if (!(await hasEventsTable(db))) return points;
  return [...points, ...(await store.engine.listChunks(db, 'events', olderThan))];
}

/** Compresses every uncompressed chunk entirely older than --older-than (or the policy's age, or 7d). */
export async function compressRun(
  db: Db,
  opts: { olderThan?: Duration; dryRun: boolean; onChunk?: (p: ChunkProgress) => void },
): Promise<CompressResult> {
  const store = await compressingStore(db);
  const age =
    opts.olderThan?.interval ??
    (await findPolicy(db, store, 'compression', 'points'))?.after ??
    parseDuration(DEFAULT_COMPRESS_AFTER).interval;
  const cutoff = await dbCutoff(db, age);
  const chunks = (await storeChunks(db, store, cutoff)).filter((c) => !c.compressed);
  return applyToChunks(db, store, chunks, { ...opts, cutoff, compress: true });
}

/** Decompresses one chunk (--chunk) or every compressed chunk with rows newer than --newer-than. */
export async function compressUndo(
  db: Db,
  opts: { chunk?: string; newerThan?: Duration; dryRun: boolean; onChunk?: (p: ChunkProgress) => void },
): Promise<CompressResult> {
  if (!!opts.chunk === !!opts.newerThan)
    throw usageError('give exactly one of --chunk NAME or --newer-than DURATION');
  const store = await compressingStore(db);
  const all = await storeChunks(db, store);
  let chunks: ChunkRow[];
  let cutoff: Date | null = null;
  if (opts.chunk) {
    const wanted = opts.chunk;
    const found = all.find((c) => c.chunk === wanted || c.chunk.split('.')[1] === wanted);
    if (!found)
      throw usageError(`no chunk '${wanted}' in iotctl.points`, 'see `iotctl stats` for the chunk names');
    chunks = found.compressed ? [found] : [];
  } else {
    cutoff = await dbCutoff(db, (opts.newerThan as Duration).interval);
    const from = cutoff;
    chunks = all.filter((c) => c.compressed && new Date(c.range_end) > from);
  }
  return applyToChunks(db, store, chunks, {
    dryRun: opts.dryRun,
    onChunk: opts.onChunk,
    cutoff,
    compress: false,
  });
}
