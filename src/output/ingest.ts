// How ingest reports: the summary (stdout: a table with the accounting line, CSV or the pinned JSON), the
// count of rejects by reason (stderr), and the progress spinner (stderr, only on a terminal).
import ora, { type Ora } from 'ora';
import type { IngestProgress, IngestSummary } from '../ingest/run.js';
import { isVerbose, log } from './log.js';
import { printLine, printRows, type Format } from './render.js';

function summaryRows(s: IngestSummary): Array<{ item: string; value: string | number }> {
  const rows: Array<{ item: string; value: string | number }> = [
    { item: 'read', value: s.read },
    { item: s.dryRun ? 'valid (dry run, nothing written)' : 'loaded', value: s.loaded },
  ];
  if (s.events) rows.push({ item: '  of which events', value: s.events });
  if (s.updated) rows.push({ item: '  of which updated', value: s.updated });
  rows.push(
    { item: 'rejected', value: s.rejected },
    { item: 'duplicates', value: s.duplicates },
    { item: 'nulls skipped', value: s.nulls },
    { item: 'seconds', value: s.seconds },
    { item: 'readings/s', value: s.rowsPerSecond },
  );
  return rows;
}

/** The summary on stdout (the accounting line for tables) and the reasons for rejects on stderr. */
export async function printIngestSummary(format: Format, summary: IngestSummary): Promise<void> {
  if (format === 'json') await printRows('json', [], [], summary);
  else {
    await printRows(format, summaryRows(summary), [{ key: 'item' }, { key: 'value', align: 'right' }]);
    if (format === 'table') {
      await printLine(
        `read ${summary.read} = loaded ${summary.loaded} + rejected ${summary.rejected} + duplicates ${summary.duplicates} + nulls ${summary.nulls}` +
          (summary.loaded === 0 && summary.read > 0 && !summary.dryRun ? ' (0 new readings)' : ''),
      );
    }
  }
  const reasons = Object.entries(summary.rejects);
  if (reasons.length) {
    log.warn(
      `${summary.rejected} readings rejected: ${reasons.map(([r, n]) => `${r} ${n}`).join(', ')}` +
        (summary.rejectsFile ? ` (details in ${summary.rejectsFile})` : ''),
    );
  }
}

/** Warnings on stderr, details with --verbose. */
/** Warnings always; hints for a person at a terminal (or with --verbose), not for cron mail; details with --verbose. */
export function printIngestNotice(message: string, level: 'warning' | 'hint' | 'detail'): void {
  if (level === 'warning') log.warn(message);
  else if (level === 'hint' && (process.stderr.isTTY || isVerbose())) log.info(`hint: ${message}`);
  else log.verbose(message);
}

/**
 * A spinner with readings, readings/s and (for files) % and ETA, when stderr is a terminal; undefined
 * otherwise. A zero-width terminal (some pseudo-terminals) would make the spinner redraw forever.
 */
export function ingestSpinner(quiet: boolean): { update(p: IngestProgress): void; stop(): void } | undefined {
  if (!process.stderr.isTTY || (process.stderr.columns ?? 0) <= 0 || quiet) return undefined;
  const t0 = Date.now();
  const spinner: Ora = ora({ stream: process.stderr, text: 'ingest: starting' }).start();
  return {
    update(p) {
      const secs = (Date.now() - t0) / 1000;
      const rate = Math.round(p.read / Math.max(secs, 0.001));
      let text = `ingest ${p.file}: ${p.read.toLocaleString('en-US')} readings, ${rate.toLocaleString('en-US')}/s`;
      if (p.totalBytes) {
        const frac = Math.min(1, p.bytes / p.totalBytes);
        const eta = frac > 0 ? Math.round(secs / frac - secs) : 0;
        text += `, ${Math.round(frac * 100)}%, ETA ${eta}s`;
      }
      spinner.text = text;
    },
    stop: () => spinner.stop(),
  };
}
