// Keeping rollups up to date: choosing which to refresh (finest first), and their sizes. How a rollup is
// refreshed is the engine's: refresh_continuous_aggregate on TimescaleDB, iotctl's own recompute in plain mode.
import type { Db } from '../db/types.js';
import type { RefreshOptions, Rollup, RollupRefresh, Store } from '../engine/types.js';
import { usageError } from '../errors.js';

export type { RefreshOptions, RollupRefresh } from '../engine/types.js';

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

/** The rollups to refresh for `names`: with --since/--all also every finer one, so each recomputes from a source
 * that already holds the backfill (finest first). */
export function rollupsToRefresh(
  store: Pick<Store, 'rollups'>,
  names: string[],
  opts: RefreshOptions,
): Rollup[] {
  const selected = selectRollups(store, names);
  if (!opts.since && !opts.all) return selected;
  const last = Math.max(...selected.map((r) => store.rollups.indexOf(r)));
  return store.rollups.slice(0, last + 1);
}

export function refreshRollup(
  db: Db,
  store: Store,
  rollup: Rollup,
  opts: RefreshOptions = {},
): Promise<RollupRefresh> {
  return store.engine.refreshRollup(db, store, rollup, opts);
}

/** Bytes of every rollup of the store, finest first, in one query. */
export async function rollupSizes(db: Db, store: Store): Promise<Array<{ name: string; bytes: number }>> {
  if (store.rollups.length === 0) return [];
  const rows = await store.engine.rollupSizes(
    db,
    store.rollups.map((r) => r.name),
  );
  return rows.map((r) => ({ name: r.name, bytes: Number(r.bytes) }));
}
