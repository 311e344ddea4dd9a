// What `iotctl compress run|undo` prints: the chunks changed and a before/after summary.
import type { ChunkProgress, CompressResult } from '../maintenance/compress.js';
import { log } from './log.js';
import { formatBytes } from '../util/format.js';
import { when } from './maintenance.js';
import { printLine, printRows, type Format } from './render.js';

export async function printCompressResult(format: Format, r: CompressResult, verb: string) {
  await printRows(
    format,
    r.chunks,
    [
      { key: 'chunk' },
      { key: 'rangeStart', header: 'from', format: when },
      { key: 'rangeEnd', header: 'to', format: when },
      { key: 'bytesBefore', header: 'before', align: 'right', format: (v) => formatBytes(v as number) },
      {
        key: 'bytesAfter',
        header: 'after',
        align: 'right',
        format: (v) => (v === null ? '-' : formatBytes(v as number)),
      },
      { key: 'ratio', align: 'right', format: (v) => (v === null ? '-' : `${v}x`) },
    ],
    r,
  );
  if (format !== 'table') return;
  const t = r.totals;
  if (r.dryRun)
    await printLine(
      `would ${verb} ${t.chunks} chunk${t.chunks === 1 ? '' : 's'} (${formatBytes(t.bytesBefore)}).`,
    );
  else if (t.chunks === 0) await printLine(`nothing to ${verb}.`);
  else {
    await printLine(
      `${verb === 'compress' ? 'compressed' : 'decompressed'} ${t.chunks} chunk${t.chunks === 1 ? '' : 's'}: ${formatBytes(t.bytesBefore)} -> ${formatBytes(t.bytesAfter ?? 0)}${t.ratio ? ` (${t.ratio}x)` : ''} in ${r.seconds.toFixed(1)} s.`,
    );
  }
}

/**
 * Progress of `compress run|undo` on stderr: one line per chunk on a terminal; elsewhere (cron mail, a log
 * file) one line for the whole run, since thousands of chunks would be thousands of lines.
 */
export function chunkProgress(terminal = !!process.stderr.isTTY): (p: ChunkProgress) => void {
  return (p) => {
    if (terminal) log.info(`${p.verb} ${p.chunk} (${p.index + 1}/${p.total}, ${formatBytes(p.bytes)})`);
    else if (p.index === 0)
      log.info(`${p.verb} ${p.total} chunk${p.total === 1 ? '' : 's'} (${formatBytes(p.totalBytes)})`);
  };
}
