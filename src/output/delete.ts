// What `iotctl delete` prints: per series the readings removed (or that would be), then one summary line.
import type { DeleteResult } from '../maintenance/delete.js';
import { printLine, printRows, type Format } from './render.js';

export async function printDelete(g: { format: Format; quiet: boolean }, r: DeleteResult): Promise<void> {
  if (g.format !== 'table') {
    await printRows(
      g.format,
      r.series,
      [{ key: 'device' }, { key: 'metric' }, { key: 'readings' }, { key: 'emptied' }],
      r,
    );
    return;
  }
  if (!g.quiet || r.dryRun) {
    await printRows('table', r.series, [
      { key: 'device' },
      { key: 'metric' },
      { key: 'readings', align: 'right', format: (v) => (v as number).toLocaleString('en-US') },
      { key: 'emptied', header: 'left empty', format: (v) => (v ? 'yes' : '') },
    ]);
  }
  const rollups = Object.entries(r.rollupRows)
    .map(([name, n]) => `${n.toLocaleString('en-US')} ${name}`)
    .join(', ');
  const verb = r.dryRun ? 'would delete' : 'deleted';
  const removed =
    (r.events ? ` and ${r.events.toLocaleString('en-US')} events` : '') +
    (r.seriesRemoved ? `; ${r.seriesRemoved} series removed` : '');
  const rollupText = rollups ? ` and rollup rows (${rollups}; buckets cut at an edge recomputed)` : '';
  await printLine(
    `${verb} ${r.readings.toLocaleString('en-US')} readings of ${r.series.length} series${rollupText}${removed}.${r.dryRun ? ' Run again with --yes to delete.' : ''}`,
  );
}
