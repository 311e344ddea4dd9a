// What `iotctl stats` prints: one row per chunk with a totals row, then the rollup sizes.
import type { ChunkStats, StatsResult } from '../maintenance/stats.js';
import { formatBytes } from '../util/format.js';
import { when } from './maintenance.js';
import { printLine, printRows, renderTable, type Format } from './render.js';

/** The time range of every chunk (for the totals row), with loops: a spread would overflow on many chunks. */
function timeRange(chunks: ChunkStats[]): { from: Date; to: Date } {
  let from = Infinity;
  let to = -Infinity;
  for (const c of chunks) {
    from = Math.min(from, new Date(c.rangeStart).getTime());
    to = Math.max(to, new Date(c.rangeEnd).getTime());
  }
  return { from: new Date(from), to: new Date(to) };
}

/** `result` is what --top shows; `all` every chunk, for the totals row's time range. */
export async function printStats(format: Format, result: StatsResult, all: StatsResult): Promise<void> {
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
  if (format !== 'table') return printRows(format, result.chunks, columns, result);
  const t = result.totals;
  // The totals cover every chunk, and so does their time range (not just the --top rows shown).
  const range = timeRange(all.chunks);
  const totalRow: ChunkStats = {
    chunk: `total (${t.chunks} chunks, ${t.compressed} compressed)`,
    rangeStart: range.from,
    rangeEnd: range.to,
    compressed: t.compressed > 0,
    rowsEstimate: t.rowsEstimate,
    bytesBefore: t.bytesBefore,
    bytesAfter: t.bytesAfter,
    ratio: t.ratio,
  };
  if (result.chunks.length === 0) await printLine('no chunks yet');
  else await printLine(renderTable([...result.chunks, totalRow], columns));
  if (result.events?.chunks) {
    const e = result.events;
    await printLine(
      `events: ${e.chunks} chunks (${e.compressed} compressed), ~${e.rowsEstimate} rows, ${formatBytes(e.bytesAfter)}` +
        (e.ratio ? ` (${e.ratio}x)` : ''),
    );
  }
  if (result.rollups.length) {
    await printLine(
      renderTable(result.rollups, [
        { key: 'name', header: 'rollup' },
        { key: 'bytes', align: 'right', format: (v) => formatBytes(v as number) },
      ]),
    );
  }
}
