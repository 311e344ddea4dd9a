// What every engine's retention and rollup handling shares: choosing rollups and retention targets, and
// applying retention through the engine (one listing for --dry-run and the real run).
import { cutoffAgo, sameInterval as sameIntervalSql, type ChunkRow } from '../db/sql/maintenance.js';
import { eventsTableExists } from '../db/sql/events.js';
import type { Db } from '../db/types.js';
import { IotctlError, usageError } from '../errors.js';
import { formatDurationMs, parseDuration, type Duration } from '../util/duration.js';
import { jobName, type JobInfo } from '../db/jobs.js';
import type {
  ChunkTotals,
  HeldBack,
  PolicyChange,
  PolicyKind,
  RetentionTarget,
  Rollup,
  Store,
} from './types.js';

/** The rollups named (by name `rollup_1h` or bucket `1h`), finest first; all when none are named. */
export function selectRollups(store: Pick<Store, 'rollups'>, names: string[]): Rollup[] {
  if (names.length === 0) return store.rollups;
  for (const n of names) {
    if (!store.rollups.some((r) => r.name === n || r.bucket.text === n)) {
      throw usageError(
        `unknown rollup '${n}'`,
        `this store has ${store.rollups.map((r) => r.name).join(', ') || 'no rollups'}`,
      );
    }
  }
  return store.rollups.filter((r) => names.includes(r.name) || names.includes(r.bucket.text));
}

/** `--rollup 1h` (or rollup_1h) targets that rollup; no rollup targets the raw readings. */
export function retentionTarget(store: Store, rollup?: string): RetentionTarget {
  if (!rollup) return { name: 'points' };
  const r = selectRollups(store, [rollup])[0] as Rollup;
  return { name: r.name, rollup: r };
}

export interface RetentionRun {
  target: string;
  cutoff: Date;
  chunks: ChunkRow[];
  /** What the database reports it dropped (the chunk names, or the rollup table for plain rollups). */
  dropped: string[];
  /** Set when the cutoff was held back because a rollup has not taken the rows in yet. */
  heldBack: HeldBack | null;
}

/** What a run with this cutoff drops (dryRun) or drops it. */
export async function applyRetention(
  db: Db,
  store: Store,
  target: RetentionTarget,
  cutoff: Date,
  dryRun = false,
): Promise<RetentionRun> {
  const engine = store.engine;
  const limit = await engine.retentionLimit(db, store, target, cutoff);
  const chunks = limit.cutoff ? await engine.listExpired(db, target, limit.cutoff) : [];
  const dropped = dryRun || !limit.cutoff ? [] : await engine.dropExpired(db, target, limit.cutoff, chunks);
  // The events follow the readings' retention: their chunks older than the same cutoff go too.
  if (!target.rollup && target.name === 'points' && limit.cutoff && (await hasEventsTable(db))) {
    const events: RetentionTarget = { name: 'events' };
    const expired = await engine.listExpired(db, events, limit.cutoff);
    chunks.push(...expired);
    if (!dryRun && expired.length)
      dropped.push(...(await engine.dropExpired(db, events, limit.cutoff, expired)));
  }
  return { target: target.name, cutoff, chunks, dropped, heldBack: limit.heldBack };
}

/** Whether the store has its events table (a store set up before it has none until `init` runs again). */
export async function hasEventsTable(db: Db): Promise<boolean> {
  return !!(await db.query<{ exists: boolean }>(eventsTableExists)).rows[0]?.exists;
}

/** A chunk listing added up, as ChunkTotals counts it. */
export function totalsOf(chunks: ChunkRow[]): ChunkTotals {
  return {
    chunks: chunks.length,
    compressed: chunks.filter((c) => c.compressed).length,
    rowsEstimate: chunks.reduce((s, c) => s + Math.max(0, Number(c.rows_estimate ?? 0)), 0),
    bytes: chunks.reduce((s, c) => s + Number(c.bytes), 0),
  };
}

/** now() - age by the database's clock, so a skewed client clock cannot widen what is dropped. */
export async function dbCutoff(db: Db, age: string): Promise<Date> {
  const { rows } = await db.query<{ cutoff: Date }>(cutoffAgo(age));
  return new Date((rows[0] as { cutoff: Date }).cutoff);
}

export async function sameInterval(db: Db, a: string | null, b: string): Promise<boolean> {
  if (a === null) return false;
  const { rows } = await db.query<{ same: boolean }>(sameIntervalSql(a, b));
  return !!rows[0]?.same;
}

/** What a rollup is refreshed from: `points` for the finest, the next finer rollup otherwise. */
export function rollupSource(store: Pick<Store, 'rollups'>, rollup: Rollup): string {
  const i = store.rollups.findIndex((r) => r.name === rollup.name);
  return i > 0 ? (store.rollups[i - 1] as Rollup).name : 'points';
}

/**
 * Margin between a source's retention and the start_offset of the refresh reading it, in rollup buckets:
 * one because a refresh window widens to whole buckets, one as slack for the time between a retention run
 * and the next refresh. A refresh over chunks drop_chunks removed deletes the rollup's rows for them.
 */
const START_OFFSET_MARGIN_BUCKETS = 2;

/** TimescaleDB: the start_offset a rollup's refresh needs when its source keeps `sourceRetentionMs` (null: none). */
export function refreshStartOffset(
  rollup: Rollup,
  source: string,
  sourceRetentionMs: number | null,
): Duration | null {
  if (sourceRetentionMs === null) return null;
  const bucket = rollup.bucket.ms;
  const ms = sourceRetentionMs - START_OFFSET_MARGIN_BUCKETS * bucket;
  // The window [start_offset, end_offset = one bucket] must span at least two buckets.
  const least = 3 * bucket;
  if (ms < least) {
    throw usageError(
      `a retention of ${formatDurationMs(sourceRetentionMs)} on ${source} is too short for ${rollup.name}, which is refreshed from it`,
      `keep ${source} at least ${formatDurationMs(least + START_OFFSET_MARGIN_BUCKETS * bucket)}`,
    );
  }
  return parseDuration(formatDurationMs(ms));
}

/**
 * Chunks dropped per transaction. One drop_chunks over ~2,000 compressed chunks needs more locks than the
 * default max_locks_per_transaction (64) allows (53200 out of shared memory); batches stay far below it.
 */
export const DROP_BATCH = 100;

/** The chunks, oldest first, in batches of `size`, each with the bound that drops exactly that batch. */
export function dropBatches(
  chunks: ChunkRow[],
  size = DROP_BATCH,
): Array<{ chunks: ChunkRow[]; olderThan: Date }> {
  const sorted = [...chunks].sort(
    (a, b) => new Date(a.range_end).getTime() - new Date(b.range_end).getTime(),
  );
  const batches: Array<{ chunks: ChunkRow[]; olderThan: Date }> = [];
  for (let i = 0; i < sorted.length; i += size) {
    const batch = sorted.slice(i, i + size);
    batches.push({ chunks: batch, olderThan: new Date((batch[batch.length - 1] as ChunkRow).range_end) });
  }
  return batches;
}

/**
 * Runs `drop` batch after batch, each its own transaction, so a run stopped half-way (an error, a lost
 * connection) leaves whole batches dropped; the error says how far it got.
 */
export async function dropInBatches(
  chunks: ChunkRow[],
  drop: (batch: { chunks: ChunkRow[]; olderThan: Date }) => Promise<string[]>,
  size = DROP_BATCH,
): Promise<string[]> {
  const dropped: string[] = [];
  for (const batch of dropBatches(chunks, size)) {
    try {
      dropped.push(...(await drop(batch)));
    } catch (err) {
      if (dropped.length === 0) throw err;
      const why = err instanceof Error ? err.message : String(err);
      throw new IotctlError(
        err instanceof IotctlError ? err.code : 'DATABASE',
        `retention stopped after dropping ${dropped.length} of ${chunks.length} chunks (the oldest): ${why}`,
        { cause: err, hint: 'what was dropped stays dropped; run it again to drop the rest' },
      );
    }
  }
  return dropped;
}

/** NEEDS_TIMESCALEDB (exit 2): `what` needs an engine that compresses. */
export function compressionUnsupported(what: string, label: string): IotctlError {
  return new IotctlError('NEEDS_TIMESCALEDB', `${what} needs TimescaleDB; this store is in ${label}`, {
    hint: 'plain PostgreSQL partitions stay uncompressed; use a server with the timescaledb extension (or the embedded database)',
  });
}

/** The value a policy change compares and reports: the schedule for refresh, the age otherwise. */
export function policyValue(kind: PolicyKind, existing: JobInfo | undefined): string | null {
  if (!existing) return null;
  return kind === 'refresh' ? existing.schedule : existing.after;
}

/** What removing a policy reports, before the engine removes it (`absent` when there is none). */
export function removalOf(kind: PolicyKind, target: string, existing: JobInfo | undefined): PolicyChange {
  return {
    job: jobName(kind, target),
    kind,
    target,
    value: existing?.after ?? existing?.schedule ?? '',
    status: existing ? 'removed' : 'absent',
  };
}
