// The refresh window a rollup's source retention allows on TimescaleDB (start_offset with its margin).
import { describe, expect, it } from 'vitest';
import { refreshStartOffset } from '../../src/maintenance/policies.js';
import { parseDuration } from '../../src/util/duration.js';

const rollup = (text: string) => ({ name: `rollup_${text}`, bucket: parseDuration(text) });

describe('refreshStartOffset', () => {
  it('is open without retention on the source', () => {
    expect(refreshStartOffset(rollup('1m'), 'points', null)).toBeNull();
  });

  it('is the retention less two buckets of the rollup', () => {
    expect(refreshStartOffset(rollup('1m'), 'points', parseDuration('2d').ms)).toMatchObject({
      text: '2878m',
      interval: '2878 minutes',
    });
    expect(refreshStartOffset(rollup('1h'), 'rollup_1m', parseDuration('30d').ms)?.text).toBe('718h');
  });

  it('refuses a retention too short for the refresh window (usage error, exit 2)', () => {
    expect(() => refreshStartOffset(rollup('1d'), 'rollup_1h', parseDuration('4d').ms)).toThrow(
      /a retention of 4d on rollup_1h is too short for rollup_1d/,
    );
    expect(refreshStartOffset(rollup('1d'), 'rollup_1h', parseDuration('5d').ms)?.text).toBe('3d');
  });
});
