// `iotctl stats`: one row per chunk (or plain partition) of the readings, with rows, bytes before and after compression
// and the ratio, a totals row, the events' chunks added up, and the size of each rollup.
import type { EngineName } from '../engine/types.js';
import { hasEventsTable } from '../engine/common.js';
import type { ChunkRow } from '../db/sql/maintenance.js';
import { loadStore } from '../db/store.js';
import type { Db } from '../db/types.js';
import { compressionRatio } from '../output/maintenance.js';
import { rollupSizes } from './rollups.js';

export interface ChunkStats {
  chunk: string;
  rangeStart: Date;
  rangeEnd: Date;
  compressed: boolean;
  rowsEstimate: number | null;
  bytesBefore: number;
  bytesAfter: number;
  /** bytesBefore / bytesAfter for compressed chunks; null otherwise. */
  ratio: number | null;
}

export interface StatsResult {
  mode: EngineName;
  chunks: ChunkStats[];
  /** Over every chunk, whatever --top shows. */
  totals: {
    chunks: number;
    compressed: number;
    rowsEstimate: number;
    bytesBefore: number;
    bytesAfter: number;
    ratio: number | null;
  };
  rollups: Array<{ name: string; bytes: number }>;
  /** The events' chunks (iotctl.events) added up like `totals`; null in a store without the table. */
  events: StatsResult['totals'] | null;
}

export const sortColumns = ['time', 'name', 'rows', 'before', 'after', 'ratio'] as const;
export type SortColumn = (typeof sortColumns)[number];

function sortKey(c: ChunkStats, by: SortColumn): number | string {
  switch (by) {
    case 'time':
      return new Date(c.rangeStart).getTime();
    case 'name':
      return c.chunk;
    case 'rows':
      return c.rowsEstimate ?? -1;
    case 'before':
      return c.bytesBefore;
    case 'after':
      return c.bytesAfter;
    case 'ratio':
      return c.ratio ?? 0;
  }
}

/** Every chunk, sorted, with totals and rollup sizes. */
export async function allStats(db: Db, sort: SortColumn): Promise<StatsResult> {
  const store = await loadStore(db);
  const rows = await store.engine.listChunks(db, 'points');
  const eventRows = (await hasEventsTable(db)) ? await store.engine.listChunks(db, 'events') : null;
  const toStats = (r: ChunkRow): ChunkStats => ({
    chunk: r.chunk,
    rangeStart: r.range_start,
    rangeEnd: r.range_end,
    compressed: r.compressed,
    rowsEstimate: r.rows_estimate,
    bytesBefore: r.bytes_before,
    bytesAfter: r.bytes,
    ratio: r.compressed ? compressionRatio(r.bytes_before, r.bytes) : null,
  });
  const chunks = rows.map(toStats);
  const totals = totalsOf(chunks);
  const events = eventRows ? totalsOf(eventRows.map(toStats)) : null;

  // Time ascends (oldest first); every other column descends (biggest first).
  const dir = sort === 'time' || sort === 'name' ? 1 : -1;
  chunks.sort((a, b) => {
    const x = sortKey(a, sort);
    const y = sortKey(b, sort);
    return (x < y ? -1 : x > y ? 1 : 0) * dir;
  });
  const rollups = await rollupSizes(db, store);
  return { mode: store.mode, chunks, totals, rollups, events };
}

function totalsOf(chunks: ChunkStats[]): StatsResult['totals'] {
  const before = chunks.reduce((s, c) => s + c.bytesBefore, 0);
  const after = chunks.reduce((s, c) => s + c.bytesAfter, 0);
  return {
    chunks: chunks.length,
    compressed: chunks.filter((c) => c.compressed).length,
    rowsEstimate: chunks.reduce((s, c) => s + (c.rowsEstimate ?? 0), 0),
    bytesBefore: before,
    bytesAfter: after,
    ratio: compressionRatio(before, after),
  };
}

export const topOf = (all: StatsResult, top?: number): StatsResult =>
  top ? { ...all, chunks: all.chunks.slice(0, top) } : all;

/** The first `top` chunks after sorting; totals and rollups cover every chunk. */
export async function stats(db: Db, opts: { sort: SortColumn; top?: number }): Promise<StatsResult> {
  return topOf(await allStats(db, opts.sort), opts.top);
}
