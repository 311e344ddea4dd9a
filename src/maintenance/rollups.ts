// Keeps rollups up to date: refresh_continuous_aggregate on TimescaleDB; on plain PostgreSQL iotctl
// recomputes buckets itself and records in iotctl.meta (`watermark:<rollup>`) how far they are complete.
import { readWatermark, refreshPlainRollup, writeWatermark } from '../db/sql/maintenance.js';
import { qualified } from '../db/sql/ident.js';
import { refreshContinuousAggregate } from '../db/sql/timescale.js';
import type { Store } from '../db/store.js';
import type { Db } from '../db/types.js';
import { usageError } from '../errors.js';
import { floorToBucket } from '../util/buckets.js';
import type { Duration } from '../util/duration.js';

export interface RefreshOptions {
  /** Recompute from this long ago (plain mode: at least from the watermark). */
  since?: Duration;
  /** Recompute everything. */
  all?: boolean;
  now?: Date;
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

export async function refreshRollup(
  db: Db,
  store: Store,
  rollup: Store['rollups'][number],
  opts: RefreshOptions = {},
): Promise<RollupRefresh> {
  const now = (opts.now ?? new Date()).getTime();
  if (store.mode === 'timescaledb') {
    // NULL start refreshes only what was invalidated, which covers backfills at any age.
    const from = opts.since && !opts.all ? new Date(now - opts.since.ms) : null;
    // Not wrapped in a transaction: refresh_continuous_aggregate refuses to run inside one.
    await db.query(refreshContinuousAggregate(qualified(rollup.name), from, null));
    return { rollup: rollup.name, from, until: null, buckets: null };
  }
  const index = store.rollups.findIndex((r) => r.name === rollup.name);
  const source = index > 0 ? (store.rollups[index - 1] as Store['rollups'][number]).name : null;
  const watermark = await getWatermark(db, rollup.name);
  let untilMs = floorToBucket(now, rollup.bucket.ms);
  if (source !== null) {
    // A coarser rollup is complete only as far as the rollup it is built from.
    const sourceMark = await getWatermark(db, source);
    untilMs = Math.min(untilMs, floorToBucket(sourceMark?.getTime() ?? -Infinity, rollup.bucket.ms));
  }
  if (!Number.isFinite(untilMs)) return { rollup: rollup.name, from: null, until: null, buckets: 0 };
  let fromMs: number | null;
  if (opts.all || watermark === null) fromMs = null;
  else {
    // Late rows for the last complete bucket are picked up; never leave a gap after the watermark.
    const defaultFrom = watermark.getTime() - rollup.bucket.ms;
    fromMs = opts.since
      ? Math.min(floorToBucket(now - opts.since.ms, rollup.bucket.ms), defaultFrom)
      : defaultFrom;
  }
  const until = new Date(untilMs);
  const from = fromMs === null ? null : new Date(fromMs);
  const buckets = await db.transaction(async (tx) => {
    const res = await tx.query({
      text: refreshPlainRollup(rollup.name, rollup.bucket, source),
      values: [from, until],
    });
    if (!watermark || until > watermark) await tx.query(writeWatermark(rollup.name, until));
    return res.rowCount;
  });
  return { rollup: rollup.name, from, until, buckets };
}

export async function getWatermark(db: Db, rollup: string): Promise<Date | null> {
  const { rows } = await db.query<{ until: Date | null }>(readWatermark(rollup));
  return rows[0]?.until ? new Date(rows[0].until) : null;
}
