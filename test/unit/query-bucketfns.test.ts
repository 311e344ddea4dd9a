// What counters, --window and delta make agg read and print: the buckets before the range, the columns, and
// raw readings for a store whose rollups predate the counter columns.
import { describe, expect, it } from 'vitest';
import { bucketFnPlan, parseWindow } from '../../src/query/bucketfns.js';
import { parseDuration } from '../../src/util/duration.js';

const hour = parseDuration('1h');
const parse = (t: string) => parseDuration(t, '--window');
const since = new Date('2026-01-05T10:20:00Z');
const range = { since, until: new Date('2026-01-06T00:00:00Z') };
const v2 = { schemaVersion: 2 };

describe('query agg counters, --window and delta', () => {
  it('--window is a whole number of buckets, as a duration or a count', () => {
    expect(parseWindow('3h', hour, parse)).toBe(3);
    expect(parseWindow('4', hour, parse)).toBe(4);
    expect(() => parseWindow('90m', hour, parse)).toThrow(/not a whole number of --every 1h buckets/);
    expect(() => parseWindow('0', hour, parse)).toThrow(/at least 1 bucket/);
  });

  it('plain functions need none of it', () => {
    expect(bucketFnPlan({ fns: ['avg', 'p95'], every: hour, range }, v2)).toBeNull();
  });

  it('a window reads its earlier buckets and starts at the bucket --since falls in', () => {
    const p = bucketFnPlan({ fns: ['avg', 'max'], every: hour, range, windowBuckets: 3 }, v2)!;
    expect(p.since).toEqual(new Date('2026-01-05T10:00:00Z'));
    expect(p.printFrom).toEqual(new Date('2026-01-05T10:00:00Z'));
    expect(p.readFrom).toEqual(new Date('2026-01-05T08:00:00Z'));
    expect(p.columns).toEqual(['avg', 'max', 'moving_avg', 'moving_max']);
  });

  it('delta reads one bucket before; its columns follow the functions', () => {
    const p = bucketFnPlan({ fns: ['avg', 'delta', 'increase'], every: hour, range }, v2)!;
    expect(p.readFrom).toEqual(new Date('2026-01-05T09:00:00Z'));
    expect(p.columns).toEqual(['avg', 'increase', 'delta_avg', 'delta_increase']);
    expect(p.counters).toBe(true);
  });

  it('counters alone keep --since (a partial first bucket) and read from it', () => {
    const p = bucketFnPlan({ fns: ['increase', 'rate'], every: hour, range }, v2)!;
    expect(p.since).toEqual(since);
    expect(p.readFrom).toEqual(since);
    expect(p.printFrom).toEqual(new Date('2026-01-05T10:00:00Z'));
    expect(p.rawOnly).toBeUndefined();
  });

  it('a schema 1 store answers counters from raw readings, and says why', () => {
    const p = bucketFnPlan({ fns: ['increase'], every: hour, range }, { schemaVersion: 1 })!;
    expect(p.rawOnly).toMatch(/predate their counter columns/);
    expect(bucketFnPlan({ fns: ['avg', 'delta'], every: hour, range }, { schemaVersion: 1 })!.rawOnly).toBe(
      undefined,
    );
  });

  it('refuses percentiles beside them and delta alone', () => {
    expect(() => bucketFnPlan({ fns: ['p95', 'increase'], every: hour, range }, v2)).toThrow(
      /cannot be combined/,
    );
    expect(() => bucketFnPlan({ fns: ['delta'], every: hour, range }, v2)).toThrow(/needs another function/);
  });
});
