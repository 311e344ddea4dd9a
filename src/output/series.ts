// What `iotctl series` prints: one row per series; an estimated count is shown as `~N` (JSON:
// `readingsExact: false`).
import type { SeriesInfo } from '../query/series.js';
import { printRows, type RowFormat } from './render.js';

export async function printSeries(format: RowFormat, rows: SeriesInfo[]): Promise<void> {
  await printRows(format, rows, [
    { key: 'device' },
    { key: 'metric' },
    { key: 'unit' },
    { key: 'tags' },
    { key: 'first' },
    { key: 'last' },
    {
      key: 'readings',
      align: 'right',
      format: (v, row) => `${row.readingsExact ? '' : '~'}${(v as number).toLocaleString('en-US')}`,
    },
    ...(format === 'csv' ? [{ key: 'readingsExact' as const }] : []),
    { key: 'events', align: 'right', format: (v) => (v as number).toLocaleString('en-US') },
  ]);
}
