// Sizes of the embedded database read from its data directory beside the engine (the holder's and its
// clients' alike: they run on the same machine): the directory, its WAL, the database, each relation file.
import { dataDirectorySizes, type DirectorySizes } from './pgdata.js';
import type { Queryable, StorageSize } from './types.js';

/**
 * Statements that only read: a SELECT (or one with a WITH that modifies no data), unless it calls one of
 * TimescaleDB's functions that write.
 */
const readOnlyRe = /^\s*(SELECT|SHOW|EXPLAIN)\b/i;
const withRe = /^\s*WITH\b/i;
const modifyingRe = /\b(INSERT|UPDATE|DELETE|MERGE)\b/i;
const writingFunctionRe =
  /\b(compress_chunk|decompress_chunk|drop_chunks|convert_to_columnstore|convert_to_rowstore|refresh_continuous_aggregate|run_job|create_hypertable|set_chunk_time_interval|nextval|setval)\b/i;

export function isPlainRead(text: string): boolean {
  const reads = readOnlyRe.test(text) || (withRe.test(text) && !modifyingRe.test(text));
  return reads && !writingFunctionRe.test(text);
}

/**
 * How long one walk serves a process: `status` asks for the directory's size, the chunks' and the rollups'
 * one after the other, and each walk is some 9,400 lstat calls on the four sample sets (0.1-0.3 s on a
 * loaded machine). Statements of this process that may write end it at once (see changed), and so do those
 * the holder runs for the processes it serves; a client of `iotctl serve` may not see other clients' writes
 * for this long, as it might not between two size functions. A relation created or rewritten since the walk
 * has a file node it did not see, and is sized by the database instead.
 */
const WALK_REUSE_MS = 5000;

export class DirectorySizesReader {
  private databaseOid?: number;
  private last?: { at: number; sizes: DirectorySizes };

  constructor(
    private readonly db: Queryable,
    private readonly dir: string,
  ) {}

  /** After a statement of this process that may have written. */
  changed(): void {
    this.last = undefined;
  }

  async sizes(): Promise<DirectorySizes> {
    if (this.last && performance.now() - this.last.at < WALK_REUSE_MS) return this.last.sizes;
    if (this.databaseOid === undefined) {
      const { rows } = await this.db.query<{ oid: number }>(
        'SELECT oid::int AS oid FROM pg_database WHERE datname = current_database()',
      );
      this.databaseOid = Number(rows[0]?.oid);
    }
    const sizes = dataDirectorySizes(this.dir, this.databaseOid);
    this.last = { at: performance.now(), sizes };
    return sizes;
  }

  async storageSize(): Promise<StorageSize> {
    const sizes = await this.sizes();
    return {
      databaseBytes: sizes.databaseBytes,
      dataDirectory: { path: this.dir, bytes: sizes.bytes, walBytes: sizes.walBytes },
    };
  }

  async relationFileSizes(): Promise<ReadonlyMap<number, number>> {
    return (await this.sizes()).relationFiles;
  }
}
