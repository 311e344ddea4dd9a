// The Db interface every command talks to; the server (pg) and embedded (PGlite) targets implement it.

export interface Sql {
  text: string;
  values?: unknown[];
}

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  query<R = Record<string, unknown>>(sql: Sql | string, values?: unknown[]): Promise<QueryResult<R>>;
}

export interface Tx extends Queryable {
  /**
   * Bulk-load `payload` (COPY text format unless the statement says otherwise) with `copySql`, a
   * `COPY table (cols) FROM STDIN ...` statement. Returns the number of rows copied.
   */
  copyFrom(copySql: string, payload: Buffer | string): Promise<number>;
  /**
   * The output of `copySql`, a `COPY (...) TO STDOUT ...` statement, as it arrives; absent where the target
   * cannot stream it (embedded: COPY TO only writes a whole Blob). Stopping early breaks the transaction.
   */
  copyTo?(copySql: string): AsyncIterable<Buffer>;
}

export type TargetKind = 'server' | 'embedded';

export interface Target {
  kind: TargetKind;
  /** Safe to print: a URL with the password as `***`, or the data directory. */
  display: string;
  /** server: a pg connection config; embedded: the data directory. */
  connectionString?: string;
  dataDir?: string;
  /** Which setting named the target: --db, IOTCTL_DATABASE_URL, DATABASE_URL, PG*, IOTCTL_DATA_DIR, default. */
  source: string;
  /** Secrets to scrub from any message that leaves the process. */
  secrets: string[];
}

/** `not-preloaded`: packaged on a server that does not load it (shared_preload_libraries). */
export type TimescaleState = 'installed' | 'available' | 'not-preloaded' | 'absent';

export interface Capabilities {
  serverVersion: string;
  serverVersionNum: number;
  timescale: {
    state: TimescaleState;
    /** The installed version, or the default available version. */
    version: string | null;
    /** `timescale` (community: compression, policies) or `apache`. */
    license: string | null;
  };
  /** The installed Citus extension's version (a server only); null or absent where there is none. */
  citus?: string | null;
}

/** How much room the target takes. */
export interface StorageSize {
  /** pg_database_size of the database iotctl uses. */
  databaseBytes: number;
  /** Embedded only: the whole data directory on disk, and its write-ahead log (pg_wal) within it. */
  dataDirectory: { path: string; bytes: number; walBytes: number } | null;
}

export interface Db extends Queryable {
  readonly target: Target;
  /** How many transactions can usefully run at once (server: pool size; embedded: 1). */
  readonly maxParallel: number;
  /** Runs several statements with no parameters (DDL). */
  exec(sql: string): Promise<void>;
  /** BEGIN ... COMMIT on one connection; rolled back if fn throws. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * A session-level advisory lock held on a dedicated connection until release() is called.
   * Returns null at once when someone else holds it.
   */
  tryAdvisoryLock(key: bigint): Promise<{ release(): Promise<void> } | null>;
  /** Size of the database, and of the embedded data directory (what `du` would say). */
  storageSize(): Promise<StorageSize>;
  /**
   * Embedded only: the bytes of each relation file node of the database (every fork and segment), read from
   * the data directory beside the engine; null on a server, where the database's size functions are used.
   */
  relationFileSizes(): Promise<ReadonlyMap<number, number> | null>;
  /** Probed once per run; `refresh` probes again (after CREATE EXTENSION). */
  capabilities(opts?: { refresh?: boolean }): Promise<Capabilities>;
  close(): Promise<void>;
}
