// Creates plain-mode partitions before rows arrive for them (native partitioning has no auto-create).
import { createPartition, listPartitions, partitionStart, type PartitionedTable } from './sql/partitions.js';
import type { Db } from './types.js';

export class PartitionManager {
  private known: Set<number> | null = null;

  constructor(
    private readonly db: Db,
    readonly intervalMs: number,
    private readonly parent: PartitionedTable = 'points',
  ) {}

  private async load(): Promise<Set<number>> {
    if (!this.known) {
      const { rows } = await this.db.query<{ range_start: Date }>(listPartitions(this.parent));
      this.known = new Set(rows.map((r) => new Date(r.range_start).getTime()));
    }
    return this.known;
  }

  /** Ensures a partition exists for every timestamp given (ms since epoch); returns how many were created. */
  async ensureFor(timesMs: Iterable<number>): Promise<number> {
    const known = await this.load();
    const missing = new Set<number>();
    for (const t of timesMs) {
      const start = partitionStart(t, this.intervalMs);
      if (!known.has(start)) missing.add(start);
    }
    let created = 0;
    for (const start of [...missing].sort((a, b) => a - b)) {
      try {
        await this.db.query(createPartition(start, this.intervalMs, this.parent));
        created++;
      } catch (err) {
        // CREATE TABLE IF NOT EXISTS still races with a concurrent creator (cron's maintain beside an
        // ingest): the loser sees 42P07 or a unique violation on pg_type. The partition exists then.
        const code = ((err as { cause?: { code?: string } }).cause ?? {}).code;
        if (code !== '42P07' && code !== '23505') throw err;
      }
      known.add(start);
    }
    return created;
  }

  /** Forgets what it knew (after retention dropped partitions): the next call reads the catalog again. */
  forget(): void {
    this.known = null;
  }

  /** Creates partitions from the current one to `ahead` intervals into the future. */
  async ensureAhead(nowMs: number, ahead: number): Promise<number> {
    const times: number[] = [];
    for (let i = 0; i <= ahead; i++) times.push(nowMs + i * this.intervalMs);
    return this.ensureFor(times);
  }
}
