// After an ingest: ANALYZE the chunks (partitions) it wrote to, so `status` and `stats` count their rows at
// once. Neither the embedded database nor plain PostgreSQL mode would otherwise know them until an
// autovacuum (the embedded database has none) or a compression.
import { analyseChunks } from '../db/sql/analyse.js';
import type { Store } from '../db/store.js';
import type { Db } from '../db/types.js';

/**
 * At most this many chunks, newest first, are analysed after one ingest (a backfill over years of daily
 * chunks would otherwise spend longer analysing than loading); the rest keep unknown estimates until
 * `maintain` compresses them or an autovacuum analyses them.
 */
export const ANALYSE_LIMIT = 2000;
/** Chunks per ANALYZE statement. */
const ANALYSE_GROUP = 50;

export interface AnalyseResult {
  analysed: number;
  /** Chunks written to but past ANALYSE_LIMIT. */
  skipped: number;
  seconds: number;
}

export async function analyseWritten(
  db: Db,
  store: Store,
  ranges: Array<[number, number]>,
  limit = ANALYSE_LIMIT,
): Promise<AnalyseResult> {
  const started = Date.now();
  if (!ranges.length) return { analysed: 0, skipped: 0, seconds: 0 };
  const chunks = await store.engine.chunksOverlapping(db, ranges);
  const chosen = chunks.slice(0, limit);
  for (let i = 0; i < chosen.length; i += ANALYSE_GROUP) {
    await db.query(analyseChunks(chosen.slice(i, i + ANALYSE_GROUP)));
  }
  return {
    analysed: chosen.length,
    skipped: chunks.length - chosen.length,
    seconds: (Date.now() - started) / 1000,
  };
}
