// What `iotctl maintain` prints: the jobs run and a one-line summary (nothing with --quiet on success).
import type { MaintainResult } from '../maintenance/maintain.js';
import { printLine, printRows, type Format } from './render.js';

export async function printMaintainResult(
  g: { format: Format; quiet: boolean },
  result: MaintainResult,
): Promise<void> {
  if (g.format === 'table' && !g.quiet) {
    // --quiet (cron) prints nothing on success; failures still reach stderr and the exit code.
    await printRows('table', result.jobs, [
      { key: 'job' },
      { key: 'id', format: (v) => (v === null ? '-' : String(v)) },
      { key: 'status' },
      { key: 'seconds', align: 'right', format: (v) => (v === null ? '' : (v as number).toFixed(2)) },
      { key: 'error', format: (v) => (v ? String(v) : '') },
    ]);
    const verb = result.dryRun ? 'would run' : 'ran';
    const extra = result.partitionsCreated ? `, created ${result.partitionsCreated} partitions` : '';
    const n = result.jobs.length;
    await printLine(`${verb} ${n} job${n === 1 ? '' : 's'}, ${result.notDue.length} not due${extra}.`);
  } else if (g.format !== 'table') {
    await printRows(
      g.format,
      result.jobs,
      [{ key: 'job' }, { key: 'id' }, { key: 'status' }, { key: 'seconds' }, { key: 'error' }],
      result,
    );
  }
}
