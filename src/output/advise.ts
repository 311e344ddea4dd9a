// What `iotctl advise` prints: one row per series with its cadence, then each piece of advice.
import type { AdviseResult } from '../maintenance/advise.js';
import { printLine, printRows, type Format } from './render.js';

export async function printAdvice(format: Format, result: AdviseResult): Promise<void> {
  if (format === 'json') return printRows('json', [], [], result);
  await printRows(format, result.series, [
    { key: 'device' },
    { key: 'metric' },
    { key: 'cadence', align: 'right', format: (v) => (v ? String(v) : '-') },
    {
      key: 'readingsPerChunk',
      header: 'per chunk',
      align: 'right',
      format: (v) => (v === null ? '-' : (v as number).toLocaleString('en-US')),
    },
  ]);
  if (format !== 'table') return;
  const lines = [`chunk interval ${result.chunkInterval}, ${result.chunks} chunks.`];
  if (!result.advice.length)
    lines.push('No change advised: the chunk interval and rollups fit these cadences.');
  for (const a of result.advice) {
    lines.push('', `${a.target}: ${a.problem}.`, `  change: ${a.change}.`, `  effect: ${a.effect}.`);
  }
  await printLine(lines.join('\n'));
}
