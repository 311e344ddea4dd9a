// What `iotctl init` prints: the objects and their status, or with --dry-run the SQL it would run.
import type { InitResult } from '../maintenance/init.js';
import { printLine, printRows, type Format } from './render.js';

export async function printInitResult(format: Format, result: InitResult): Promise<void> {
  if (format === 'json') return printRows('json', [], [], result);
  if (result.dryRun) {
    await printLine(
      result.sql.length ? result.sql.map((s) => s.trim() + ';').join('\n\n') : '-- nothing to do',
    );
    return;
  }
  await printRows(format, result.objects, [
    { key: 'object' },
    { key: 'status' },
    { key: 'note', format: (v) => (v ? String(v) : '') },
  ]);
  if (format !== 'table') return;
  const where = result.targetKind === 'embedded' ? `embedded database in ${result.target}` : result.target;
  const modeText = result.engine;
  await printLine(
    result.changed
      ? `iotctl is set up on ${where} (${modeText}).`
      : `Nothing changed: iotctl was already set up on ${where} (${modeText}).`,
  );
}
