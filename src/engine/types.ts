// The storage-engine interface: how the readings store is kept (TimescaleDB hypertables and continuous
// aggregates, or plain PostgreSQL partitions and rollup tables). Everything that differs between engines is
// a method here; commands and planners ask `store.engine` and never test which engine it is.
import type { JobInfo } from '../db/jobs.js';
import type { ChunkRow } from '../db/sql/maintenance.js';
import type { InitOptions, SchemaStep } from '../db/sql/schema.js';
import type { SeriesFilter } from '../db/sql/query.js';
import type { Capabilities, Db, Sql } from '../db/types.js';
import type { Duration } from '../util/duration.js';

/** The engines, by the name `init` stores in iotctl.meta. */
export type EngineName = 'timescaledb' | 'plain' | 'citus';

export interface Rollup {
  name: string;
  bucket: Duration;
}

/** What `init` recorded about this database (engine, chunk interval, rollups). */
export interface StoreConfig {
  mode: EngineName;
  chunkInterval: Duration;
  /** Finest first. */
  rollups: Rollup[];
  schemaVersion: number;
}

export interface Store extends StoreConfig {
  caps: Capabilities;
  engine: StorageEngine;
}

export type PolicyKind = 'compression' | 'retention' | 'refresh';

export interface PolicyChange {
  job: string;
  kind: PolicyKind;
  target: string;
  /** compress_after / drop_after, or the refresh schedule. */
  value: string;
  status: 'created' | 'updated' | 'unchanged' | 'removed' | 'absent';
}

/** Where retention acts: the raw readings (`points`) or one rollup. */
export interface RetentionTarget {
  name: string;
  rollup?: Rollup;
}

/** Why a cutoff was held back: the rollup built on the target is complete only until `until` (null: never). */
export interface HeldBack {
  rollup: string;
  until: Date | null;
}

export interface RefreshOptions {
  /** Recompute from this long ago (plain mode: at least from the watermark). */
  since?: Duration;
  /** Recompute everything. */
  all?: boolean;
  /** Called before each piece of a refresh done in pieces (see src/engine/windows.ts), and before the last. */
  onProgress?: (p: RefreshProgress) => void;
}

/** Where a refresh in pieces has got to: piece `index` (from 0) of `total`, the last one open-ended. */
export interface RefreshProgress {
  rollup: string;
  index: number;
  total: number;
  from: Date | null;
  /** null for the last piece: up to now. */
  until: Date | null;
}

export interface RollupRefresh {
  rollup: string;
  from: Date | null;
  until: Date | null;
  /** Plain mode: buckets written. */
  buckets: number | null;
}

/** A rollup as the query planner sees it before the engine says where it is complete. */
export interface RollupBase {
  name: string;
  bucketMs: number;
  bucketText: string;
  completeFrom: number;
  retention?: string;
}

/** Where each rollup is exact (see src/query/plan.ts RollupState). */
export interface RollupCompleteness {
  completeUntil: number;
  dirty?: { rollup: string; from: number };
  pending: Array<[number, number]>;
}

/** Chunks (partitions) of a relation added up: what listChunks lists, without listing it. */
export interface ChunkTotals {
  chunks: number;
  compressed: number;
  /** Rows estimates added up, a chunk without one counting 0. */
  rowsEstimate: number;
  bytes: number;
}

/** The selected series by group (see StorageEngine.seriesGroups). */
export interface SeriesGroups {
  /** Every selected id, in device, metric order. */
  order: number[];
  groups: number[][];
}

/** One object that `init` reports. */
export interface InitObject {
  object: string;
  status: 'created' | 'exists' | 'updated' | 'would create' | 'would update' | 'skipped';
  note?: string;
}

/** Something that makes sure the store can take rows at these times (plain mode: partitions). */
export interface RowPlacer {
  /** Times within one interval need one call: callers may pass each time floored to it. */
  readonly intervalMs: number;
  ensureFor(timesMs: Iterable<number>): Promise<number>;
  forget(): void;
}

export interface StorageEngine {
  readonly name: EngineName;
  /** For people: `TimescaleDB 2.23.0`, `plain PostgreSQL mode`. */
  readonly label: string;
  /** The TimescaleDB version this engine runs on; null for engines without it. */
  readonly timescaleVersion: string | null;
  /** Whether chunks can be compressed (compression policies, `compress run/undo`). */
  readonly compresses: boolean;
  /** The chunk (partition) interval of a new store when `init --chunk-interval` is not given. */
  readonly defaultChunkInterval: Duration;

  // ---- schema (init) ----
  /** Work before the schema, e.g. creating the extension; returns the objects it reports. */
  prepare(
    db: Db,
    opts: { dryRun: boolean; sql: string[]; onNotice: (message: string) => void },
  ): Promise<InitObject[]>;
  /** Every schema object of the store, in creation order (common tables included). */
  schemaSteps(opts: InitOptions): SchemaStep[];
  /**
   * Upgrading a schema 1 store: what gives its rollups the counter columns, run before schemaSteps (whose
   * steps create again whatever these drop).
   */
  counterUpgradeSteps(rollups: Duration[]): SchemaStep[];
  /** A new chunk interval for chunks created from now on; throws a usage error where it cannot change. */
  chunkIntervalChange(from: Duration, to: Duration): Sql;
  /** Work after the schema and policies (plain mode: partitions ahead of now). */
  afterInit(db: Db, config: StoreConfig, dryRun: boolean): Promise<InitObject[]>;

  // ---- SQL that differs ----
  /** The bucket of `column` for `interval`, with time_bucket's origin (Monday 2000-01-03 UTC). */
  bucketExpr(interval: string, column: string): string;
  /** Cutoff, target and age of each retention policy, by the database's clock. */
  retentionCutoffs(): Sql;
  /** The last reading of each selected series (optionally only those older than `stale`), for `query latest`. */
  latestReadings(filter: SeriesFilter, stale?: string): Sql;
  /**
   * The selected series split into groups that one node answers alone, for per-series statements (LIMIT in a
   * correlated subquery) the engine cannot run over all of them at once (Citus: one group per shard); null
   * where one statement takes every series.
   */
  seriesGroups(db: Db, filter: SeriesFilter): Promise<SeriesGroups | null>;

  // ---- chunks, compression, retention ----
  /** Chunks (partitions) of points or a rollup, oldest first; with olderThan only those entirely older. */
  listChunks(db: Db, relation: string, olderThan?: Date): Promise<ChunkRow[]>;
  /** What listChunks(relation) adds up to (status), computed without returning a row per chunk. */
  chunkTotals(db: Db, relation: string): Promise<ChunkTotals>;
  /** Statement that compresses (or decompresses) one chunk; only called where `compresses`. */
  compressChunk(chunk: string): Sql;
  decompressChunk(chunk: string): Sql;
  /** The cutoff retention may apply, held back where a rollup has not yet taken the rows in. */
  retentionLimit(
    db: Db,
    store: Store,
    target: RetentionTarget,
    cutoff: Date,
  ): Promise<{ cutoff: Date | null; heldBack: HeldBack | null }>;
  /** What retention with this cutoff drops (the same listing for --dry-run and the real run). */
  listExpired(db: Db, target: RetentionTarget, cutoff: Date): Promise<ChunkRow[]>;
  /** Drops what listExpired listed; returns the names the database reports dropped. */
  dropExpired(db: Db, target: RetentionTarget, cutoff: Date, chunks: ChunkRow[]): Promise<string[]>;

  // ---- policies and jobs ----
  findPolicy(db: Db, store: Store, kind: PolicyKind, target: string): Promise<JobInfo | undefined>;
  setPolicy(db: Db, store: Store, kind: PolicyKind, target: string, value: Duration): Promise<PolicyChange>;
  removePolicy(db: Db, store: Store, kind: PolicyKind, target: string): Promise<PolicyChange>;
  /** The statement a dry run of setting this policy shows. */
  policyStatement(kind: 'compression' | 'retention', target: string, value: Duration): Sql;
  /** After rollups or retention changed: brings refresh windows in line; returns the rollups changed. */
  syncRefreshPolicies(db: Db, store: Store, onNotice?: (message: string) => void): Promise<string[]>;
  listJobs(db: Db, store: Store): Promise<JobInfo[]>;
  /** Runs one job now; returns details for the ledger. */
  runJob(db: Db, store: Store, job: JobInfo): Promise<unknown>;
  /** Work `maintain` does beside the jobs; returns partitions created. */
  maintainExtras(db: Db, store: Store, nowMs: number): Promise<number>;

  /** Problems only this engine sees (TimescaleDB on a server: no scheduler runs its jobs); none is []. */
  health(db: Db): Promise<string[]>;

  // ---- rollups ----
  /** The table that holds a rollup's rows, for deleting them (TimescaleDB: the materialization hypertable). */
  rollupStorage(db: Db, rollup: string): Promise<string>;
  refreshRollup(db: Db, store: Store, rollup: Rollup, opts: RefreshOptions): Promise<RollupRefresh>;
  rollupSizes(db: Db, rollups: string[]): Promise<Array<{ name: string; bytes: number }>>;
  /** Where each rollup is exact, for the query planner; throws when that cannot be read. */
  rollupCompleteness(
    db: Db,
    base: RollupBase[],
    retention: Map<string, { cutoff: number; after: string }>,
  ): Promise<RollupCompleteness[]>;

  // ---- ingest ----
  /** Chunks (partitions) of points overlapping any of these [from, to] ms ranges that hold uncompressed rows, newest first. */
  chunksOverlapping(db: Db, ranges: Array<[number, number]>): Promise<string[]>;
  /**
   * What ingest calls before writing rows of `table` (points by default, or the events) at new times (plain
   * mode creates partitions); null when not needed.
   */
  rowPlacer(db: Db, config: StoreConfig, table?: 'points' | 'events'): RowPlacer | null;
  /**
   * The rollup ingest marks dirty itself, in the transaction that writes a batch older than its watermark
   * (engines without a staleness trigger: Citus); null where the database tracks late rows on its own.
   */
  lateDataRollup(config: StoreConfig): string | null;
  /**
   * The chunk interval (µs) when ingest can load a range that has no chunk yet into a table of its own and attach
   * it as the chunk (TimescaleDB 2.21+ on a server); null where every batch goes straight into points.
   */
  bulkChunkInterval(db: Db): Promise<number | null>;
}
