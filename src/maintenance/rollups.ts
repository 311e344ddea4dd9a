// Keeping rollups up to date: choosing which to refresh (finest first), and their sizes. How a rollup is
// refreshed is the engine's: refresh_continuous_aggregate on TimescaleDB, iotctl's own recompute in plain mode.
import type { Db } from '../db/types.js';
import type { RefreshOptions, Rollup, RollupRefresh, Store } from '../engine/types.js';
import { loadStore } from '../db/store.js';
import { usageError } from '../errors.js';
import { selectRollups } from '../engine/common.js';
import { withMaintenanceLock } from './lock.js';

export type { RefreshOptions, RollupRefresh } from '../engine/types.js';
export { selectRollups };

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

/**
 * Refreshes the named rollups (all when none), finest first, so each sees its source up to date; with
 * --since/--all the finer rollups too, over the same window. Holds the maintenance lock.
 */
export async function rollupRefresh(
  db: Db,
  names: string[],
  opts: RefreshOptions & { onNotice?: (message: string) => void },
): Promise<RollupRefresh[]> {
  if (opts.all && opts.since) throw usageError('give --since or --all, not both');
  const store = await loadStore(db);
  const rollups = rollupsToRefresh(store, names, opts);
  return withMaintenanceLock(db, 'rollup refresh', async () => {
    const results: RollupRefresh[] = [];
    for (const r of rollups) {
      opts.onNotice?.(`refreshing ${r.name}...`);
      results.push(await refreshRollup(db, store, r, opts));
    }
    return results;
  });
}
