// What `init` recorded about this database (engine, chunk interval, rollups), read by every other command,
// and the storage engine that keeps it.
import { engineFor } from '../engine/index.js';
import type { EngineName, Store, StoreConfig } from '../engine/types.js';
import { IotctlError } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import { metaExists, readConfig, rollupName } from './sql/schema.js';
import type { Db } from './types.js';

export type { Store, StoreConfig } from '../engine/types.js';

/**
 * 1: the first schema. 2: rollups store each bucket's first and last value and its increase within (counters);
 * `init` on a version 1 store adds them (see src/maintenance/init.ts).
 */
export const SCHEMA_VERSION = 2;
export { COUNTER_SCHEMA_VERSION } from './sql/schema.js';

interface StoredConfig {
  mode: EngineName;
  chunk_interval: string;
  rollups: string[];
  schema_version: number;
}

export function serialiseConfig(cfg: StoreConfig): StoredConfig {
  return {
    mode: cfg.mode,
    chunk_interval: cfg.chunkInterval.text,
    rollups: cfg.rollups.map((r) => r.bucket.text),
    schema_version: cfg.schemaVersion,
  };
}

export function configFromStored(v: StoredConfig): StoreConfig {
  const rollups = v.rollups.map((t) => parseDuration(t)).sort((a, b) => a.ms - b.ms);
  return {
    mode: v.mode,
    chunkInterval: parseDuration(v.chunk_interval),
    rollups: rollups.map((bucket) => ({ name: rollupName(bucket), bucket })),
    schemaVersion: v.schema_version,
  };
}

export async function readStoredConfig(db: Db): Promise<StoreConfig | null> {
  const exists = await db.query<{ ok: boolean }>(metaExists);
  if (!exists.rows[0]?.ok) return null;
  const { rows } = await db.query<{ value: StoredConfig }>(readConfig);
  return rows[0] ? configFromStored(rows[0].value) : null;
}

/** The store as `init` left it; NOT_INITIALISED when init has not run on this target. */
export async function loadStore(db: Db): Promise<Store> {
  const cfg = await readStoredConfig(db);
  if (!cfg) {
    throw new IotctlError('NOT_INITIALISED', `iotctl is not initialised on ${db.target.display}`, {
      hint: 'run `iotctl init` first',
    });
  }
  const caps = await db.capabilities();
  return { ...cfg, caps, engine: engineFor(cfg.mode, caps) };
}
