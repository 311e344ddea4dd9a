import { describe, expect, it } from 'vitest';
import { formatAge, formatDurationMs, parseDuration } from '../../src/util/duration.js';

describe('durations', () => {
  it('parses units into ms and PostgreSQL intervals', () => {
    expect(parseDuration('90s')).toEqual({ text: '90s', ms: 90_000, interval: '90 seconds' });
    expect(parseDuration('7d')).toEqual({ text: '7d', ms: 604_800_000, interval: '7 days' });
    expect(parseDuration(' 2W ')).toMatchObject({ text: '2w', interval: '2 weeks' });
  });

  it('rejects anything else with a usage error', () => {
    for (const bad of ['', '7', 'd', '1.5h', '-1d', '7 days', '1y']) {
      expect(() => parseDuration(bad, '--after')).toThrow(/invalid --after/);
    }
  });

  it('formats', () => {
    expect(formatDurationMs(86_400_000)).toBe('1d');
    expect(formatDurationMs(5_400_000)).toBe('90m');
    expect(formatAge(3_725_000)).toBe('1h 2m');
  });
});

describe('zero durations', () => {
  it('are usage errors unless the flag allows zero', () => {
    for (const zero of ['0s', '0m', '0 d', '00h'])
      expect(() => parseDuration(zero, '--every'), zero).toThrow(
        `invalid --every '${zero}': it must be longer than 0`,
      );
    expect(parseDuration('0s', '--retry-timeout', { allowZero: true })).toMatchObject({ ms: 0, text: '0s' });
  });
});
