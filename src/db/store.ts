// What `init` recorded about this database (mode, chunk interval, rollups), read by every other command.
import { IotctlError } from '../errors.js';
import { parseDuration, type Duration } from '../util/duration.js';
import { META, rollupName, type StoreMode } from './sql/schema.js';
import { parseTsdbVersion, type TsdbVersion } from './sql/timescale.js';
import type { Capabilities, Db } from './types.js';

export interface StoreConfig {
  mode: StoreMode;
  chunkInterval: Duration;
  /** Finest first. */
  rollups: Array<{ name: string; bucket: Duration }>;
  schemaVersion: number;
}

export interface Store extends StoreConfig {
  caps: Capabilities;
  /** Set in timescaledb mode. */
  tsdb?: TsdbVersion;
}

export const SCHEMA_VERSION = 1;

export function storeModeFor(caps: Capabilities): StoreMode {
  return caps.timescale.state === 'absent' ? 'plain' : 'timescaledb';
}

interface StoredConfig {
  mode: StoreMode;
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
  const exists = await db.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [META]);
  if (!exists.rows[0]?.ok) return null;
  const { rows } = await db.query<{ value: StoredConfig }>(`SELECT value FROM ${META} WHERE key = 'config'`);
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
  const tsdb =
    cfg.mode === 'timescaledb' && caps.timescale.version
      ? parseTsdbVersion(caps.timescale.version)
      : undefined;
  return { ...cfg, caps, tsdb };
}
