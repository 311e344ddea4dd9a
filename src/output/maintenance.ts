// Output shared by the maintenance commands: times, policy changes and policy listings.
import type { JobInfo } from '../db/jobs.js';
import { printLine, printRows, type Format } from './render.js';
import type { PolicyChange } from '../engine/types.js';

/** A timestamp to the second, or '-' for none: 2026-11-22T03:00:00Z. */
export const when = (v: unknown): string =>
  v ? new Date(v as Date).toISOString().replace('.000Z', 'Z') : '-';

/** bytes before / bytes after, to two decimals; null when there is no after. */
export const compressionRatio = (before: number, after: number | null): number | null =>
  after ? Math.round((before / after) * 100) / 100 : null;

export async function printPolicyChange(format: Format, change: PolicyChange): Promise<void> {
  if (format !== 'table')
    return printRows(format, [change], [{ key: 'job' }, { key: 'value' }, { key: 'status' }], change);
  const what =
    change.kind === 'refresh' ? `every ${change.value}` : change.value ? `after ${change.value}` : '';
  await printLine(`${change.job}${what ? ` (${what})` : ''}: ${change.status}`);
}

export async function printPolicies(format: Format, list: JobInfo[], none: string): Promise<void> {
  if (format === 'table' && list.length === 0) return printLine(none);
  await printRows(format, list, [
    { key: 'name', header: 'job' },
    { key: 'id', format: (v) => (v === null ? '-' : String(v)) },
    { key: 'after', format: (v) => String(v ?? '-') },
    { key: 'schedule', format: (v) => String(v ?? '-') },
    { key: 'lastStatus', header: 'status', format: (v) => String(v ?? 'never run') },
    { key: 'lastError', header: 'latest error', format: (v) => String(v ?? '') },
  ]);
}
