// Keeps rollups up to date: refresh_continuous_aggregate on TimescaleDB; on plain PostgreSQL iotctl
// recomputes buckets itself and records in iotctl.meta how far they are complete (`watermark:<rollup>`) and
// from where late readings made them stale (`dirty:<rollup>`, written by the trigger init creates on points).
import {
  clearDirty,
  lockRollupsExclusive,
  markDirty,
  plainSourceStart,
  readRollupState,
  refreshPlainRollup,
  rollupSizes as rollupSizesSql,
  writeWatermark,
} from '../db/sql/maintenance.js';
import { qualified } from '../db/sql/ident.js';
import { refreshContinuousAggregate } from '../db/sql/timescale.js';
import type { Store } from '../db/store.js';
import type { Db } from '../db/types.js';
import { usageError } from '../errors.js';
import { refreshStartOffsets } from './policies.js';
import { ceilToBucket, floorToBucket } from '../util/buckets.js';
import type { Duration } from '../util/duration.js';

export interface RefreshOptions {
  /** Recompute from this long ago (plain mode: at least from the watermark). */
  since?: Duration;
  /** Recompute everything. */
  all?: boolean;
}

export interface RollupRefresh {
  rollup: string;
  from: Date | null;
  until: Date | null;
  /** Plain mode: buckets written. */
  buckets: number | null;
}

/** The rollups named (by name `rollup_1h` or bucket `1h`), finest first; all when none are named. */
export function selectRollups(store: Store, names: string[]): Store['rollups'] {
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

/** The rollups to refresh for `names`: with --since/--all also every finer one, so each recomputes from a source
 * that already holds the backfill (finest first). */
export function rollupsToRefresh(store: Store, names: string[], opts: RefreshOptions): Store['rollups'] {
  const selected = selectRollups(store, names);
  if (!opts.since && !opts.all) return selected;
  const last = Math.max(...selected.map((r) => store.rollups.indexOf(r)));
  return store.rollups.slice(0, last + 1);
}

async function dbNow(db: Db): Promise<number> {
  const { rows } = await db.query<{ now: Date }>('SELECT now() AS now');
  return new Date((rows[0] as { now: Date }).now).getTime();
}

export async function refreshRollup(
  db: Db,
  store: Store,
  rollup: Store['rollups'][number],
  opts: RefreshOptions = {},
): Promise<RollupRefresh> {
  return store.mode === 'timescaledb'
    ? refreshContinuous(db, store, rollup, opts)
    : refreshPlain(db, store, rollup, opts);
}

/**
 * TimescaleDB. An open start refreshes only what was invalidated, which covers backfills at any age, but
 * when the source has a retention policy the start is clamped like the refresh policy's start_offset: a
 * refresh over dropped chunks would delete the rollup's history for them.
 */
async function refreshContinuous(
  db: Db,
  store: Store,
  rollup: Store['rollups'][number],
  opts: RefreshOptions,
): Promise<RollupRefresh> {
  const now = await dbNow(db);
  const offset = (await refreshStartOffsets(db, store)).get(rollup.name) ?? null;
  const floorMs = offset ? now - offset.ms : -Infinity;
  const askedMs = opts.since && !opts.all ? now - opts.since.ms : -Infinity;
  const startMs = Math.max(floorMs, askedMs);
  const from = Number.isFinite(startMs) ? new Date(startMs) : null;
  // Not wrapped in a transaction: refresh_continuous_aggregate refuses to run inside one.
  await db.query(refreshContinuousAggregate(qualified(rollup.name), from, null));
  return { rollup: rollup.name, from, until: null, buckets: null };
}

/**
 * Plain PostgreSQL: recomputes [from, until) from the source and upserts it, in one transaction holding the
 * rollup lock (exclusive; the staleness trigger takes it shared), by the database's clock. The window starts
 * one bucket below the watermark (late rows for the last bucket), lower for --since or a dirty mark, never
 * below where the source is complete (retention may have removed part of a bucket), and ends at the last
 * complete bucket (for a coarser rollup: no later than its source's watermark).
 */
async function refreshPlain(
  db: Db,
  store: Store,
  rollup: Store['rollups'][number],
  opts: RefreshOptions,
): Promise<RollupRefresh> {
  const index = store.rollups.findIndex((r) => r.name === rollup.name);
  const source = index > 0 ? (store.rollups[index - 1] as Store['rollups'][number]).name : null;
  const coarser = store.rollups[index + 1]?.name;
  const bucket = rollup.bucket.ms;
  return db.transaction(async (tx) => {
    const { rows: lock } = await tx.query<{ now: Date }>(lockRollupsExclusive());
    const now = new Date((lock[0] as { now: Date }).now).getTime();
    const { rows } = await tx.query<{
      until: Date | null;
      dirty_from: Date | null;
      source_until: Date | null;
    }>(readRollupState(rollup.name, source));
    const state = rows[0] as { until: Date | null; dirty_from: Date | null; source_until: Date | null };
    const watermark = state.until ? new Date(state.until).getTime() : null;
    let untilMs = floorToBucket(now, bucket);
    // A coarser rollup is complete only as far as the rollup it is built from.
    if (source !== null) {
      untilMs = state.source_until
        ? Math.min(untilMs, floorToBucket(new Date(state.source_until).getTime(), bucket))
        : -Infinity;
    }
    if (!Number.isFinite(untilMs)) return { rollup: rollup.name, from: null, until: null, buckets: 0 };
    let fromMs: number | null = null;
    if (!opts.all && watermark !== null) {
      fromMs = watermark - bucket;
      if (opts.since) fromMs = Math.min(fromMs, floorToBucket(now - opts.since.ms, bucket));
      if (state.dirty_from)
        fromMs = Math.min(fromMs, floorToBucket(new Date(state.dirty_from).getTime(), bucket));
    }
    const { rows: start } = await tx.query<{ start: Date | null }>(plainSourceStart(source));
    const sourceStart = start[0]?.start ? new Date(start[0].start).getTime() : null;
    // Never recompute a bucket whose source rows are partly gone: start where the source is complete.
    const completeFrom = sourceStart === null ? null : ceilToBucket(sourceStart, bucket);
    const startMs = completeFrom === null ? fromMs : Math.max(fromMs ?? completeFrom, completeFrom);
    const until = new Date(untilMs);
    const res = await tx.query({
      text: refreshPlainRollup(rollup.name, rollup.bucket, source),
      values: [startMs === null ? null : new Date(startMs), until],
    });
    if (watermark === null || untilMs > watermark) await tx.query(writeWatermark(rollup.name, until));
    await tx.query(clearDirty(rollup.name));
    // Buckets recomputed below the old watermark changed under the next coarser rollup: it recomputes them too.
    if (coarser && watermark !== null && startMs !== null && startMs < watermark)
      await tx.query(markDirty(coarser, new Date(startMs)));
    return {
      rollup: rollup.name,
      from: fromMs === null ? null : new Date(startMs as number),
      until,
      buckets: res.rowCount,
    };
  });
}

/** Bytes of every rollup of the store, finest first, in one query. */
export async function rollupSizes(db: Db, store: Store): Promise<Array<{ name: string; bytes: number }>> {
  if (store.rollups.length === 0) return [];
  const { rows } = await db.query<{ name: string; bytes: number }>(
    rollupSizesSql(
      store.mode,
      store.rollups.map((r) => r.name),
    ),
  );
  return rows.map((r) => ({ name: r.name, bytes: Number(r.bytes) }));
}
