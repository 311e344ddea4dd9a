// What printers do differently on a terminal and elsewhere (cron mail, pipes, log files), and what they do not.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { chunkProgress } from '../../src/output/compress.js';
import { renderTable } from '../../src/output/render.js';
import { refreshProgressText, refreshReporter } from '../../src/output/rollup.js';

function stderrOf(fn: () => void): string {
  let text = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    text += String(chunk);
    return true;
  });
  try {
    fn();
  } finally {
    spy.mockRestore();
  }
  return text;
}

const chunks = ['_hyper_1_1_chunk', '_hyper_1_2_chunk', '_hyper_1_3_chunk'].map((chunk, index) => ({
  verb: 'compressing' as const,
  index,
  total: 3,
  chunk,
  bytes: 8192,
  totalBytes: 3 * 8192,
}));

describe('compress run progress', () => {
  it('off a terminal: one line for the run, not one per chunk (1,853 lines for the sample data sets)', () => {
    const progress = chunkProgress(false);
    expect(stderrOf(() => chunks.forEach(progress))).toBe('compressing 3 chunks (24.0 kB)\n');
  });

  it('on a terminal: one line per chunk', () => {
    const progress = chunkProgress(true);
    expect(stderrOf(() => chunks.forEach(progress)).split('\n')).toEqual([
      'compressing _hyper_1_1_chunk (1/3, 8.0 kB)',
      'compressing _hyper_1_2_chunk (2/3, 8.0 kB)',
      'compressing _hyper_1_3_chunk (3/3, 8.0 kB)',
      '',
    ]);
  });
});

describe('rollup refresh progress', () => {
  const pieces = (rollup: string, total: number) =>
    Array.from({ length: total }, (_, index) => ({
      rollup,
      index,
      total,
      from: new Date(Date.UTC(2019, index, 1)),
      until: index === total - 1 ? null : new Date(Date.UTC(2019, index + 1, 1)),
    }));

  it('off a terminal: one line per rollup, none per piece', () => {
    const r = refreshReporter(false);
    const text = stderrOf(() => {
      for (const rollup of ['rollup_1m', 'rollup_1h']) {
        r.onNotice(`refreshing ${rollup}...`);
        pieces(rollup, 3).forEach((p) => r.onProgress(p));
      }
      r.stop();
    });
    expect(text).toBe('refreshing rollup_1m...\nrefreshing rollup_1h...\n');
  });

  it('names the month a piece starts in and how far through its rollup it is', () => {
    const [first, , last] = pieces('rollup_1m', 3);
    expect(refreshProgressText(first!)).toBe('rollup_1m: 2019-01 … 1/3 windows');
    expect(refreshProgressText(last!)).toBe('rollup_1m: 2019-03 … 3/3 windows');
    expect(refreshProgressText({ rollup: 'rollup_1d', index: 0, total: 1, from: null, until: null })).toBe(
      'rollup_1d: start … 1/1 window',
    );
  });
});

describe('tables', () => {
  const tty = process.stdout.isTTY;
  afterEach(() => {
    process.stdout.isTTY = tty;
  });

  it('are drawn with the same box characters, and no colour codes, whether stdout is a terminal or not', () => {
    const rows = [{ device: 'hall-1', value: 21.5 }];
    const columns = [{ key: 'device' as const }, { key: 'value' as const, align: 'right' as const }];
    process.stdout.isTTY = true;
    const onTerminal = renderTable(rows, columns);
    process.stdout.isTTY = false;
    const offTerminal = renderTable(rows, columns);
    expect(offTerminal).toBe(onTerminal);
    expect(offTerminal).toBe(
      [
        '┌────────┬───────┐',
        '│ device │ value │',
        '├────────┼───────┤',
        '│ hall-1 │  21.5 │',
        '└────────┴───────┘',
      ].join('\n'),
    );
    expect(offTerminal).not.toContain(String.fromCharCode(27));
  });
});
