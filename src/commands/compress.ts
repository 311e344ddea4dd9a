// `iotctl compress`: the compression policy, and compressing or decompressing chunks now (TimescaleDB only).
import type { Command } from 'commander';
import type { ChunkRow } from '../db/sql/maintenance.js';
import { loadStore, type Store } from '../db/store.js';
import type { Db } from '../db/types.js';
import { usageError } from '../errors.js';
import { log } from '../output/log.js';
import { printCompressResult } from '../output/compress.js';
import {
  findPolicy,
  needsCompression,
  removePolicy,
  setPolicy,
  showPolicies,
} from '../maintenance/policies.js';
import { dbCutoff } from '../maintenance/retention.js';
import { formatBytes } from '../util/format.js';
import { parseDuration, type Duration } from '../util/duration.js';
import { withMaintenanceLock } from '../maintenance/lock.js';
import { compressionRatio, printPolicies, printPolicyChange } from '../output/maintenance.js';
import { examples, globalOptions, withDb } from './common.js';

/** Without --older-than and without a policy, chunks older than this are compressed. */
const DEFAULT_COMPRESS_AFTER = '7d';

export interface ChunkChange {
  chunk: string;
  rangeStart: Date;
  rangeEnd: Date;
  bytesBefore: number;
  bytesAfter: number | null;
  ratio: number | null;
}

export interface CompressResult {
  dryRun: boolean;
  cutoff: Date | null;
  chunks: ChunkChange[];
  totals: { chunks: number; bytesBefore: number; bytesAfter: number | null; ratio: number | null };
  seconds: number;
}

async function compressingStore(db: Db): Promise<Store> {
  const store = await loadStore(db);
  needsCompression(store, 'compression');
  return store;
}

async function applyToChunks(
  db: Db,
  store: Store,
  chunks: ChunkRow[],
  opts: { dryRun: boolean; cutoff: Date | null; compress: boolean; onNotice?: (m: string) => void },
): Promise<CompressResult> {
  const started = Date.now();
  const verb = opts.compress ? 'compressing' : 'decompressing';
  if (!opts.dryRun) {
    await withMaintenanceLock(db, `compress ${opts.compress ? 'run' : 'undo'}`, async () => {
      for (const [i, c] of chunks.entries()) {
        opts.onNotice?.(`${verb} ${c.chunk} (${i + 1}/${chunks.length}, ${formatBytes(c.bytes)})`);
        // One statement per chunk, each its own transaction: an interruption keeps the chunks already done.
        await db.query(
          opts.compress ? store.engine.compressChunk(c.chunk) : store.engine.decompressChunk(c.chunk),
        );
      }
    });
  }
  const after = opts.dryRun
    ? new Map<string, ChunkRow>()
    : new Map((await store.engine.listChunks(db, 'points')).map((r) => [r.chunk, r]));
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

/** Compresses every uncompressed chunk entirely older than --older-than (or the policy's age, or 7d). */
export async function compressRun(
  db: Db,
  opts: { olderThan?: Duration; dryRun: boolean; onNotice?: (m: string) => void },
): Promise<CompressResult> {
  const store = await compressingStore(db);
  const age =
    opts.olderThan?.interval ??
    (await findPolicy(db, store, 'compression', 'points'))?.after ??
    parseDuration(DEFAULT_COMPRESS_AFTER).interval;
  const cutoff = await dbCutoff(db, age);
  const chunks = (await store.engine.listChunks(db, 'points', cutoff)).filter((c) => !c.compressed);
  return applyToChunks(db, store, chunks, { ...opts, cutoff, compress: true });
}

/** Decompresses one chunk (--chunk) or every compressed chunk with rows newer than --newer-than. */
export async function compressUndo(
  db: Db,
  opts: { chunk?: string; newerThan?: Duration; dryRun: boolean; onNotice?: (m: string) => void },
): Promise<CompressResult> {
  if (!!opts.chunk === !!opts.newerThan)
    throw usageError('give exactly one of --chunk NAME or --newer-than DURATION');
  const store = await compressingStore(db);
  const all = await store.engine.listChunks(db, 'points');
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
    onNotice: opts.onNotice,
    cutoff,
    compress: false,
  });
}

export function registerCompress(program: Command): void {
  const cmd = program.command('compress').description('compression of old chunks (TimescaleDB only)');
  const policy = cmd.command('policy').description('the compression policy (a TimescaleDB job)');
  const set = policy
    .command('set')
    .description('compress chunks older than --after (idempotent; replaces a policy with another age)')
    .requiredOption('--after <duration>', 'compress chunks whose newest rows are older than this')
    .action(async (o, command: Command) => {
      const g = globalOptions(command);
      const after = parseDuration(o.after, '--after');
      const change = await withDb(g, async (db) =>
        setPolicy(db, await compressingStore(db), 'compression', 'points', after),
      );
      await printPolicyChange(g.format, change);
    });
  const show = policy
    .command('show')
    .description('show the compression policy and its health')
    .action(async (_o, command: Command) => {
      const g = globalOptions(command);
      const list = await withDb(g, async (db) => showPolicies(db, await compressingStore(db), 'compression'));
      await printPolicies(
        g.format,
        list,
        'no compression policy (set one with `iotctl compress policy set --after 7d`)',
      );
    });
  const remove = policy
    .command('remove')
    .description('remove the compression policy (compressed chunks stay compressed)')
    .action(async (_o, command: Command) => {
      const g = globalOptions(command);
      const change = await withDb(g, async (db) =>
        removePolicy(db, await compressingStore(db), 'compression', 'points'),
      );
      await printPolicyChange(g.format, change);
    });
  const run = cmd
    .command('run')
    .description('compress eligible chunks now, one transaction per chunk, with a before/after summary')
    .option(
      '--older-than <duration>',
      `compress chunks older than this (default: the policy's age, else ${DEFAULT_COMPRESS_AFTER})`,
    )
    .option('--dry-run', 'list the chunks that would be compressed')
    .action(async (o, command: Command) => {
      const g = globalOptions(command);
      const olderThan = o.olderThan ? parseDuration(o.olderThan, '--older-than') : undefined;
      const result = await withDb(g, (db) =>
        compressRun(db, { olderThan, dryRun: !!o.dryRun, onNotice: (m) => log.info(m) }),
      );
      await printCompressResult(g.format, result, 'compress');
    });
  const undo = cmd
    .command('undo')
    .description('decompress chunks (before a backfill or a correction of old rows)')
    .option('--chunk <name>', 'one chunk, e.g. _hyper_1_12_chunk')
    .option('--newer-than <duration>', 'every compressed chunk with rows newer than this')
    .option('--dry-run', 'list the chunks that would be decompressed')
    .action(async (o, command: Command) => {
      const g = globalOptions(command);
      const newerThan = o.newerThan ? parseDuration(o.newerThan, '--newer-than') : undefined;
      const result = await withDb(g, (db) =>
        compressUndo(db, { chunk: o.chunk, newerThan, dryRun: !!o.dryRun, onNotice: (m) => log.info(m) }),
      );
      await printCompressResult(g.format, result, 'decompress');
    });
  examples(cmd, [
    'iotctl compress policy set --after 7d',
    'iotctl compress run --older-than 3d --dry-run',
    'iotctl compress undo --newer-than 30d',
  ]);
  examples(set, ['iotctl compress policy set --after 7d']);
  examples(show, ['iotctl compress policy show', 'iotctl compress policy show --json']);
  examples(remove, ['iotctl compress policy remove']);
  examples(run, ['iotctl compress run', 'iotctl compress run --older-than 1d --json']);
  examples(undo, ['iotctl compress undo --chunk _hyper_1_12_chunk', 'iotctl compress undo --newer-than 3d']);
}
