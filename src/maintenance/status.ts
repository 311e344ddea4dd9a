// `iotctl status`: what am I connected to, and is everything healthy.
import type { EngineName } from '../engine/types.js';
import type { JobInfo } from '../db/jobs.js';
import { countSeries } from '../db/sql/schema.js';
import { loadStore, type Store } from '../db/store.js';
import type { Capabilities, Db, StorageSize } from '../db/types.js';
import { IotctlError } from '../errors.js';
import { listJobs } from './jobs.js';
import { hasEventsTable } from '../engine/common.js';
import { rollupSizes } from './rollups.js';

export interface StatusResult {
  target: string;
  targetKind: 'server' | 'embedded';
  targetSource: string;
  postgres: string;
  timescaledb: Capabilities['timescale'];
  mode: EngineName | null;
  initialised: boolean;
  config: { chunkInterval: string; rollups: string[] } | null;
  series: number;
  rowsEstimate: number;
  chunks: { total: number; compressed: number };
  bytes: { points: number; events: number; rollups: Array<{ name: string; bytes: number }> };
  /** Events (text and boolean values, iotctl.events): rows estimated from the chunks, like rowsEstimate. */
  eventsEstimate: number;
  /** The database's size, and the embedded data directory's on disk (with its WAL). */
  storage: StorageSize;
  jobs: JobInfo[];
  healthy: boolean;
  problems: string[];
}

/**
 * Chunk counts, rows and bytes added up by the engine from the same figures `stats` lists, so the two always
 * agree; added up in the database, as status prints no chunk.
 */
async function storeSizes(db: Db, store: Store) {
  const totals = await store.engine.chunkTotals(db, 'points');
  const events = (await hasEventsTable(db))
    ? await store.engine.chunkTotals(db, 'events')
    : { chunks: 0, compressed: 0, rowsEstimate: 0, bytes: 0 };
  return {
    chunks: { total: totals.chunks, compressed: totals.compressed },
    bytes: totals.bytes,
    rows: totals.rowsEstimate,
    events,
    rollups: await rollupSizes(db, store),
  };
}

export async function status(db: Db): Promise<StatusResult> {
  const caps = await db.capabilities();
  const base = {
    target: db.target.display,
    targetKind: db.target.kind,
    targetSource: db.target.source,
    postgres: caps.serverVersion,
    timescaledb: caps.timescale,
    storage: await db.storageSize(),
  };
  // The stored config is read once: loadStore reports a store init has not set up as NOT_INITIALISED.
  const store = await loadStore(db).catch((err: unknown) => {
    if (err instanceof IotctlError && err.code === 'NOT_INITIALISED') return null;
    throw err;
  });
  if (!store) {
    return {
      ...base,
      mode: null,
      initialised: false,
      config: null,
      series: 0,
      rowsEstimate: 0,
      chunks: { total: 0, compressed: 0 },
      bytes: { points: 0, events: 0, rollups: [] },
      eventsEstimate: 0,
      jobs: [],
      healthy: false,
      problems: ['iotctl is not initialised here: run `iotctl init`'],
    };
  }
  const sizes = await storeSizes(db, store);
  const series = await db.query<{ n: number }>(countSeries);
  const jobs = await listJobs(db, store);
  const problems = [
    ...jobs
      .filter((j) => j.failing)
      .map(
        (j) =>
          `job ${j.name}${j.id !== null ? ` (id ${j.id})` : ''} is failing: ${j.lastError ?? 'unknown error'}`,
      ),
    ...(await store.engine.health(db)),
  ];
  return {
    ...base,
    mode: store.mode,
    initialised: true,
    config: { chunkInterval: store.chunkInterval.text, rollups: store.rollups.map((r) => r.bucket.text) },
    series: series.rows[0]?.n ?? 0,
    rowsEstimate: Number(sizes.rows),
    chunks: sizes.chunks,
    eventsEstimate: Number(sizes.events.rowsEstimate),
    bytes: {
      points: Number(sizes.bytes),
      events: Number(sizes.events.bytes),
      rollups: sizes.rollups.map((r) => ({ name: r.name, bytes: Number(r.bytes) })),
    },
    jobs,
    healthy: problems.length === 0,
    problems,
  };
}
