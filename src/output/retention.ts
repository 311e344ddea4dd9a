// What `iotctl retention run` prints: the chunks dropped (or that would be) and why a cutoff was held back.
import type { RetentionResult } from '../maintenance/retention.js';
import { formatBytes } from '../util/format.js';
import { when } from './maintenance.js';
import { printLine, printRows, type Format } from './render.js';

export async function printRetentionResult(format: Format, result: RetentionResult): Promise<void> {
  await printRows(
    format,
    result.chunks,
    [
      { key: 'chunk' },
      { key: 'rangeStart', header: 'from', format: when },
      { key: 'rangeEnd', header: 'to', format: when },
      {
        key: 'rowsEstimate',
        header: 'rows (est.)',
        align: 'right',
        format: (v) => (v === null ? '?' : String(v)),
      },
      { key: 'bytes', align: 'right', format: (v) => formatBytes(v as number) },
    ],
    result,
  );
  if (format === 'table') {
    const n = result.chunks.length;
    const verb = result.dryRun ? 'would drop' : 'dropped';
    await printLine(
      `${verb} ${n} chunk${n === 1 ? '' : 's'} of ${result.target} older than ${result.olderThan} (before ${when(result.cutoff)}).`,
    );
    const held = result.heldBack;
    if (held) {
      await printLine(
        held.until
          ? `held back to ${when(held.until)}: ${held.rollup} is complete only until then; older data stays until it is refreshed.`
          : `held back: ${held.rollup} was never refreshed; nothing is dropped before it is (iotctl rollup refresh).`,
      );
    }
  }
}
