// Setting up an iotctl store in tests: init with test defaults, and plain-mode partitions for seeded data.
import { init, parseRollups, type InitCommandOptions } from '../../src/maintenance/init.js';
import { loadStore, type Store } from '../../src/db/store.js';
import type { Db } from '../../src/db/types.js';
import { parseDuration } from '../../src/util/duration.js';

/**
 * init's options as the CLI gives them by default, with `rollups` as the CLI text; the chunk interval is
 * pinned to a day on every engine (Citus defaults to 7d) unless `cadence` is given: the suites count and
 * drop day chunks.
 */
export function initOptions(
  over: Partial<Omit<InitCommandOptions, 'rollups'>> & { rollups?: string } = {},
): InitCommandOptions {
  const { rollups = '1m,1h,1d', ...rest } = over;
  return {
    chunkInterval: parseDuration('1d'),
    dryRun: false,
    plain: false,
    // Given unless --cadence is (it sizes the chunks itself).
    explicit: { chunkInterval: over.cadence === undefined, rollups: false },
    ...rest,
    rollups: parseRollups(rollups),
  };
}

/** Runs init with the test defaults (and `rollups`) and returns the store. */
export async function initTestStore(db: Db, rollups = '1m,1h,1d'): Promise<Store> {
  await init(db, initOptions({ rollups }));
  return loadStore(db);
}

/** Plain and Citus have no automatic partitions: create them for every chunk in [from, to]. No-op on TimescaleDB. */
export async function ensurePartitions(
  db: Db,
  store: Store,
  from: Date | number,
  to: Date | number,
): Promise<void> {
  const placer = store.engine.rowPlacer(db, store);
  if (!placer) return;
  const [a, b] = [new Date(from).getTime(), new Date(to).getTime()];
  const times: number[] = [];
  for (let t = a; t <= b; t += store.chunkInterval.ms) times.push(t);
  times.push(b);
  await placer.ensureFor(times);
}

/** Partitions for the last `days` days up to now (plain mode). */
export async function ensureDaysBack(db: Db, store: Store, days: number): Promise<void> {
  await ensurePartitions(db, store, Date.now() - days * 86_400_000, Date.now());
}
