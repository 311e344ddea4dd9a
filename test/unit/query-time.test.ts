import { describe, expect, it } from 'vitest';
import { parseRange, parseTime } from '../../src/query/time.js';

const now = new Date('2026-01-05T12:00:00.000Z');

describe('parseTime', () => {
  it('accepts now, durations back from now and ISO 8601 (UTC when no zone is given)', () => {
    expect(parseTime('now', now)).toEqual(now);
    expect(parseTime('24h', now)).toEqual(new Date('2026-01-04T12:00:00.000Z'));
    expect(parseTime('7d', now)).toEqual(new Date('2025-12-29T12:00:00.000Z'));
    expect(parseTime('90s', now)).toEqual(new Date('2026-01-05T11:58:30.000Z'));
    expect(parseTime('2026-01-05', now)).toEqual(new Date('2026-01-05T00:00:00.000Z'));
    expect(parseTime('2026-01-05T10:30', now)).toEqual(new Date('2026-01-05T10:30:00.000Z'));
    expect(parseTime('2026-01-05 10:30:15', now)).toEqual(new Date('2026-01-05T10:30:15.000Z'));
    expect(parseTime('2026-01-05T10:30:00+02:00', now)).toEqual(new Date('2026-01-05T08:30:00.000Z'));
    expect(parseTime('2026-01-05T10:30:00.250Z', now)).toEqual(new Date('2026-01-05T10:30:00.250Z'));
  });

  it('rejects anything else with a usage error and a hint', () => {
    for (const bad of ['yesterday', '24', '-1h', '2026-13-45', '2026-01-05T25:00']) {
      expect(() => parseTime(bad, now, '--since')).toThrow(
        expect.objectContaining({ code: 'USAGE', exitCode: 2 }),
      );
    }
    expect(() => parseTime('soon', now, '--since')).toThrow("invalid --since 'soon'");
  });
});

describe('parseRange', () => {
  it('needs --since before --until', () => {
    expect(parseRange('1h', 'now', now)).toEqual({ since: new Date('2026-01-05T11:00:00.000Z'), until: now });
    expect(() => parseRange('now', '1h', now)).toThrow(/--since .* must be before --until/);
  });
});
