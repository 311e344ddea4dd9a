// The pure parts of query profile and query corr: quantiles as percentile_cont has them, Pearson's r with
// lags, local hours and weekdays of a zone, and the usage errors raised before any database work.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { corrLags, parseMetrics } from '../../src/query/corr.js';
import { profileRange, slotOf } from '../../src/query/profile.js';
import { bestLag, laggedPearson, quantile } from '../../src/query/stats.js';
import { parseDuration } from '../../src/util/duration.js';
import { zoneOffsets } from '../../src/util/zone.js';
import { runMain } from '../helpers/main.js';

const f64 = (values: number[]) => Float64Array.from(values);

describe('quantile', () => {
  it('interpolates between closest ranks, as percentile_cont', () => {
    const v = [1, 2, 4, 8];
    // percentile_cont(0.25) over 1,2,4,8: position 0.75 between 1 and 2.
    expect([quantile(v, 0.25), quantile(v, 0.5), quantile(v, 0.75)]).toEqual([1.75, 3, 5]);
    expect(quantile([7], 0.25)).toBe(7);
    expect(quantile([], 0.5)).toBeNull();
    expect(quantile([1, 2, 3], 0.5)).toBe(2);
  });
});

describe('Pearson r with lags', () => {
  const a = Array.from({ length: 40 }, (_, i) => Math.sin(i / 3) + 0.4 * Math.sin(i / 1.3));

  it('r of a linear pair is 1, of a mirrored one -1, of a constant null', () => {
    expect(laggedPearson(f64(a), f64(a.map((x) => 3 * x + 2)), 0).r).toBeCloseTo(1, 12);
    expect(laggedPearson(f64(a), f64(a.map((x) => 5 - x)), 0)).toEqual({ r: expect.closeTo(-1, 12), n: 40 });
    expect(laggedPearson(f64(a), f64(a.map(() => 4)), 0)).toEqual({ r: null, n: 40 });
  });

  it('a known r: x = 1..5 against y = 2, 4, 5, 4, 5 (r = 0.7745966692)', () => {
    expect(laggedPearson(f64([1, 2, 3, 4, 5]), f64([2, 4, 5, 4, 5]), 0).r).toBeCloseTo(0.7745966692, 9);
  });

  it('skips buckets missing on either side (NaN), and gives no r below 3 aligned buckets', () => {
    const x = f64([1, 2, NaN, 4, 5]);
    const y = f64([2, 4, 9, NaN, 10]);
    expect(laggedPearson(x, y, 0)).toEqual({ r: expect.closeTo(1, 12), n: 3 });
    expect(laggedPearson(f64([1, 2, NaN]), f64([1, NaN, 3]), 0)).toEqual({ r: null, n: 1 });
  });

  it('lag k pairs a[i] with b[i + k]: b = a two buckets later is found at +2, and a two buckets later at -2', () => {
    const b = [0, 0, ...a.slice(0, -2)];
    const found = bestLag(f64(a), f64(b), 4);
    expect(found.lag).toBe(2);
    expect(found.best).toEqual({ r: expect.closeTo(1, 12), n: 38 });
    expect(found.zero.n).toBe(40);
    expect(bestLag(f64(b), f64(a), 4).lag).toBe(-2);
  });

  it('the best lag is the largest |r|: an anti-correlated pair is best at lag 0 with r -1; without lags it is lag 0', () => {
    const found = bestLag(f64(a), f64(a.map((x) => -x)), 3);
    expect([found.lag, found.best.r]).toEqual([0, expect.closeTo(-1, 12)]);
    expect(bestLag(f64(a), f64(a), 0)).toMatchObject({ lag: 0, best: { n: 40 } });
    expect(bestLag(f64([1, 2]), f64([2, 1]), 1)).toEqual({
      zero: { r: null, n: 2 },
      lag: null,
      best: { r: null, n: 0 },
    });
  });
});

describe('local hours and weekdays', () => {
  it('slots: hour of the day 0-23, ISO weekday 1-7 (2026-01-05 is a Monday)', () => {
    const monday = Date.UTC(2026, 0, 5);
    expect(slotOf('hour', monday + 13.5 * 3_600_000)).toBe(13);
    expect(slotOf('weekday', monday)).toBe(1);
    expect(slotOf('weekday', monday - 1)).toBe(7);
    expect(slotOf('weekday', Date.UTC(1969, 11, 31))).toBe(3);
  });

  it('zone offsets, summer time included; an unknown zone is a usage error', () => {
    expect(zoneOffsets('UTC')(0)).toBe(0);
    expect(zoneOffsets('Asia/Kolkata')(Date.UTC(2026, 0, 5))).toBe(5.5 * 3_600_000);
    const rome = zoneOffsets('Europe/Rome');
    expect([rome(Date.UTC(2026, 0, 5)), rome(Date.UTC(2026, 6, 5))]).toEqual([3_600_000, 7_200_000]);
    expect(() => zoneOffsets('Mars/Olympus')).toThrow(/unknown time zone 'Mars\/Olympus'/);
  });

  it('the range is trimmed to whole local hours; one that holds none is a usage error', () => {
    const t = (iso: string) => new Date(iso);
    expect(profileRange({ since: t('2026-01-05T10:20Z'), until: t('2026-01-06T10:20Z') }, 'UTC')).toEqual({
      since: t('2026-01-05T11:00Z'),
      until: t('2026-01-06T10:00Z'),
    });
    expect(
      profileRange({ since: t('2026-01-05T10:20Z'), until: t('2026-01-06T10:20Z') }, 'Asia/Kolkata'),
    ).toEqual({
      since: t('2026-01-05T10:30Z'),
      until: t('2026-01-06T09:30Z'),
    });
    expect(() =>
      profileRange({ since: t('2026-01-05T10:20Z'), until: t('2026-01-05T11:10Z') }, 'UTC'),
    ).toThrow(/holds no whole hour/);
  });
});

describe('corr flags', () => {
  it('--max-lag is a whole multiple of --every, in buckets', () => {
    expect(corrLags(parseDuration('1h'), parseDuration('6h'))).toBe(6);
    expect(corrLags(parseDuration('15m'), undefined)).toBe(0);
    expect(() => corrLags(parseDuration('1h'), parseDuration('90m'))).toThrow(
      '--max-lag (90m) must be a whole multiple of --every (1h)',
    );
  });

  it('--metric: a list without blanks or repeats', () => {
    expect(parseMetrics('temperature, humidity')).toEqual(['temperature', 'humidity']);
    expect(() => parseMetrics(' , ')).toThrow(/at least one metric/);
    expect(() => parseMetrics('a,a')).toThrow(/names a twice/);
  });
});

describe('usage errors before any database work', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-analytics-'));
  // Never created: a command that opened its database would create it.
  const dataDir = path.join(tmp, 'data');
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it.each([
    [['query', 'corr', '--metric', 'temp', '--every', '1h', '--max-lag', '90m'], 'must be a whole multiple'],
    [['query', 'corr', '--metric', 'temp', '--device', 'hall-1'], 'has nothing to correlate with'],
    [['query', 'corr', '--metric', 'temp,temp'], 'names temp twice'],
    [['query', 'profile', '--tz', 'Mars/Olympus'], "unknown time zone 'Mars/Olympus'"],
    [['query', 'profile', '--since', '30m'], 'holds no whole hour'],
    [['query', 'profile', '--by', 'month'], "argument 'month' is invalid"],
  ])('iotctl %j exits 2', async (args, message) => {
    const r = await runMain([...args, '--db', dataDir]);
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toContain(message);
    expect(fs.existsSync(dataDir)).toBe(false);
  });
});
