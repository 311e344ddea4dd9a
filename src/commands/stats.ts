// `iotctl stats`: one row per chunk (or plain partition) with rows, bytes before and after compression
// and the ratio, a totals row, and the size of each rollup.
import type { Command } from 'commander';
import { plainPartitions, rollupBytes, tsdbChunks, type ChunkRow } from '../db/sql/maintenance.js';
import { POINTS } from '../db/sql/schema.js';
import { loadStore } from '../db/store.js';
import type { Db } from '../db/types.js';
import { usageError } from '../errors.js';
import { printLine, printRows, renderTable } from '../output/render.js';
import { formatBytes } from '../util/format.js';
import { when } from '../maintenance/output.js';
import { examples, globalOptions, parseIntOption, withDb } from './common.js';

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
  mode: 'timescaledb' | 'plain';
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
}

export const sortColumns = ['time', 'name', 'rows', 'before', 'after', 'ratio'] as const;
export type SortColumn = (typeof sortColumns)[number];

const ratio = (before: number, after: number) =>
  after > 0 ? Math.round((before / after) * 100) / 100 : null;

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

export async function stats(db: Db, opts: { sort: SortColumn; top?: number }): Promise<StatsResult> {
  const store = await loadStore(db);
  const sql = store.mode === 'timescaledb' ? tsdbChunks(store.tsdb!, POINTS) : plainPartitions();
  const rows = (await db.query<ChunkRow>(sql)).rows;
  const chunks = rows.map((r): ChunkStats => ({
    chunk: r.chunk,
    rangeStart: r.range_start,
    rangeEnd: r.range_end,
    compressed: r.compressed,
    rowsEstimate: r.rows_estimate,
    bytesBefore: r.bytes_before,
    bytesAfter: r.bytes,
    ratio: r.compressed ? ratio(r.bytes_before, r.bytes) : null,
  }));
  const totalBefore = chunks.reduce((s, c) => s + c.bytesBefore, 0);
  const totalAfter = chunks.reduce((s, c) => s + c.bytesAfter, 0);
  const totals = {
    chunks: chunks.length,
    compressed: chunks.filter((c) => c.compressed).length,
    rowsEstimate: chunks.reduce((s, c) => s + (c.rowsEstimate ?? 0), 0),
    bytesBefore: totalBefore,
    bytesAfter: totalAfter,
    ratio: ratio(totalBefore, totalAfter),
  };
  // Time ascends (oldest first); every other column descends (biggest first).
  const dir = opts.sort === 'time' || opts.sort === 'name' ? 1 : -1;
  chunks.sort((a, b) => {
    const x = sortKey(a, opts.sort);
    const y = sortKey(b, opts.sort);
    return (x < y ? -1 : x > y ? 1 : 0) * dir;
  });
  const rollups: StatsResult['rollups'] = [];
  for (const r of store.rollups) {
    const { rows: size } = await db.query<{ bytes: number }>(rollupBytes(store.mode, r.name));
    rollups.push({ name: r.name, bytes: size[0]?.bytes ?? 0 });
  }
  return { mode: store.mode, chunks: opts.top ? chunks.slice(0, opts.top) : chunks, totals, rollups };
}

export function registerStats(program: Command): void {
  const cmd = program
    .command('stats')
    .description('per-chunk rows, size before/after compression and ratio, with totals and rollup sizes')
    .option('--top <n>', 'only the first N chunks after sorting', parseIntOption('--top'))
    .option('--sort <column>', `sort by ${sortColumns.join(', ')} (time ascends, the rest descend)`, 'time')
    .action(async (o, command: Command) => {
      const g = globalOptions(command);
      if (!sortColumns.includes(o.sort))
        throw usageError(`invalid --sort '${o.sort}'`, `use one of ${sortColumns.join(', ')}`);
      const result = await withDb(g, (db) => stats(db, { sort: o.sort as SortColumn, top: o.top }));
      const columns = [
        { key: 'chunk' as const },
        { key: 'rangeStart' as const, header: 'from', format: when },
        { key: 'rangeEnd' as const, header: 'to', format: when },
        { key: 'compressed' as const, format: (v: unknown) => (v ? 'yes' : 'no') },
        {
          key: 'rowsEstimate' as const,
          header: 'rows (est.)',
          align: 'right' as const,
          format: (v: unknown) => (v === null ? '?' : String(v)),
        },
        {
          key: 'bytesBefore' as const,
          header: 'before',
          align: 'right' as const,
          format: (v: unknown) => formatBytes(v as number),
        },
        {
          key: 'bytesAfter' as const,
          header: 'after',
          align: 'right' as const,
          format: (v: unknown) => formatBytes(v as number),
        },
        {
          key: 'ratio' as const,
          align: 'right' as const,
          format: (v: unknown) => (v === null ? '-' : `${v}x`),
        },
      ];
      if (g.format !== 'table') return printRows(g.format, result.chunks, columns, result);
      const t = result.totals;
      const totalRow: ChunkStats = {
        chunk: `total (${t.chunks} chunks, ${t.compressed} compressed)`,
        rangeStart: new Date(Math.min(...result.chunks.map((c) => new Date(c.rangeStart).getTime()))),
        rangeEnd: new Date(Math.max(...result.chunks.map((c) => new Date(c.rangeEnd).getTime()))),
        compressed: t.compressed > 0,
        rowsEstimate: t.rowsEstimate,
        bytesBefore: t.bytesBefore,
        bytesAfter: t.bytesAfter,
        ratio: t.ratio,
      };
      if (result.chunks.length === 0) await printLine('no chunks yet');
      else await printLine(renderTable([...result.chunks, totalRow], columns));
      if (result.rollups.length) {
        await printLine(
          renderTable(result.rollups, [
            { key: 'name', header: 'rollup' },
            { key: 'bytes', align: 'right', format: (v) => formatBytes(v as number) },
          ]),
        );
      }
    });
  examples(cmd, ['iotctl stats', 'iotctl stats --sort before --top 10', 'iotctl stats --json | jq .totals']);
}
