// What `iotctl status` prints: a key/value table of the target and store, the jobs, and any problems.
import type { StatusResult } from '../maintenance/status.js';
import { formatBytes } from '../util/format.js';
import { when } from './maintenance.js';
import { printLine, printRows, renderJson, renderTable, writeOut, type Format } from './render.js';

function describeTimescale(s: StatusResult): string {
  const t = s.timescaledb;
  if (t.state === 'absent') return 'not available (plain PostgreSQL mode)';
  if (t.state === 'available') return `${t.version} available, not installed (run iotctl init)`;
  if (t.state === 'not-preloaded')
    return `${t.version} packaged but not preloaded (add shared_preload_libraries = 'timescaledb' and restart; or init --plain)`;
  return `${t.version}${t.license ? ` (${t.license} licence)` : ''}`;
}

export async function printStatus(format: Format, result: StatusResult): Promise<void> {
  if (format === 'json') await writeOut(renderJson(result));
  else if (format === 'csv') {
    await printRows(
      'csv',
      [result],
      [
        { key: 'target' },
        { key: 'mode' },
        { key: 'postgres' },
        { key: 'series' },
        { key: 'rowsEstimate' },
        { key: 'healthy' },
      ],
    );
  } else {
    const rows: Array<[string, string]> = [
      ['target', `${result.target} (${result.targetKind}, from ${result.targetSource})`],
      ['postgres', result.postgres],
      ['timescaledb', describeTimescale(result)],
      ['mode', result.mode ?? 'not initialised'],
    ];
    const dir = result.storage.dataDirectory;
    rows.push(
      dir
        ? ['data directory', `${formatBytes(dir.bytes)} on disk (${formatBytes(dir.walBytes)} of it WAL)`]
        : ['database size', formatBytes(result.storage.databaseBytes)],
    );
    if (result.config) {
      rows.push(
        ['chunk interval', result.config.chunkInterval],
        ['rollups', result.config.rollups.join(', ') || 'none'],
        ['series', String(result.series)],
        ['rows (estimate)', String(result.rowsEstimate)],
        ['chunks', `${result.chunks.total} (${result.chunks.compressed} compressed)`],
        ['size', formatBytes(result.bytes.points)],
        ['events (estimate)', `${result.eventsEstimate} (${formatBytes(result.bytes.events)})`],
        ...result.bytes.rollups.map((r): [string, string] => [`size ${r.name}`, formatBytes(r.bytes)]),
      );
    }
    await printLine(
      renderTable(
        rows.map(([k, v]) => ({ k, v })),
        [
          { key: 'k', header: '' },
          { key: 'v', header: '' },
        ],
      ),
    );
    if (result.jobs.length) {
      await printLine(
        renderTable(result.jobs, [
          { key: 'name', header: 'job' },
          { key: 'id', format: (v) => (v === null ? '-' : String(v)) },
          { key: 'after', format: (v) => String(v ?? '') },
          { key: 'schedule' },
          { key: 'lastRunStarted', header: 'last run', format: when },
          { key: 'lastSuccess', header: 'last success', format: when },
          { key: 'lastStatus', header: 'status', format: (v) => String(v ?? 'never run') },
          { key: 'totalFailures', header: 'failures', align: 'right' },
        ]),
      );
    }
    for (const p of result.problems) await printLine(`problem: ${p}`);
  }
}
