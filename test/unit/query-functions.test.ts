// The aggregate function registry of `query agg`: every entry is complete, and --fn help, validation and
// the SQL all come from it.
import { dateBin } from '../../src/db/sql/plain.js';
import { describe, expect, it } from 'vitest';
import { aggFromSources, aggRaw } from '../../src/db/sql/query.js';
import { aggBucketFns } from '../../src/db/sql/aggfn.js';
import { parseDuration } from '../../src/util/duration.js';
import {
  aggregateFunctions,
  exampleName,
  functionFor,
  functionsHelp,
  functionsList,
  parseFns,
  percentileFraction,
  rawOnlyReason,
} from '../../src/query/functions.js';

const t = new Date('2026-01-05T00:00:00Z');
const exampleOf = exampleName;

describe('the aggregate function registry', () => {
  it('names each function once', () => {
    const names = aggregateFunctions.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
  });

  describe.each(aggregateFunctions.map((f) => [f.name, f] as const))('%s', (_name, f) => {
    it('has help, is listed in --fn help and --help, and parses', () => {
      expect(f.help.length).toBeGreaterThan(3);
      expect(functionsHelp()).toContain(exampleOf(f));
      expect(functionsList()).toContain(`${f.name} `);
      expect(parseFns(exampleOf(f).toUpperCase())).toEqual([exampleOf(f)]);
      expect(functionFor(exampleOf(f))).toBe(f);
    });

    it('is computed by the raw SQL, and recombined from partial sums or read raw only', () => {
      const spec = {
        bucket: dateBin,
        every: parseDuration('1d'),
        ids: [1],
        filtered: false,
        fns: [exampleOf(f)],
      };
      const raw = aggRaw(spec, { from: t, to: t }, [0.5]).text;
      if (f.kind === 'basic') {
        const combined = aggFromSources(spec, [
          { source: 'rollup_1h', from: t, to: t, bucketMs: 3_600_000 },
        ]).text;
        expect(raw).toContain(`${f.raw} AS ${f.name}`);
        expect(combined).toContain(`${f.final} AS ${f.name}`);
        expect(rawOnlyReason([f.name])).toBeUndefined();
      } else if (f.kind === 'percentile') {
        expect(raw).toContain('WITHIN GROUP (ORDER BY r.value) AS percentiles');
        expect(rawOnlyReason(['avg', f.example])).toMatch(/cannot be recombined from rollups/);
      } else {
        // Counters and delta: per series over its buckets (src/db/sql/aggfn.ts), from rollups too.
        const fns = f.kind === 'counter' ? [f.name] : ['avg'];
        const sql = aggBucketFns(
          { ...spec, fns, windowBuckets: 2, delta: f.kind === 'comparison', printFrom: t, counters: true },
          [{ source: 'rollup_1h', from: t, to: t, bucketMs: 3_600_000 }],
        ).text;
        if (f.kind === 'counter') {
          expect(sql).toContain(`${f.final} AS ${f.name}`);
          expect(sql).toContain('r.first AS f, r.last AS l, r.increase AS i');
        } else expect(sql).toContain(`AS ${f.column('avg')}`);
        expect(rawOnlyReason([f.name])).toBeUndefined();
      }
    });
  });

  it('percentiles: p1..p99 with decimals, as fractions', () => {
    expect(parseFns('p1,p50,p99.9')).toEqual(['p1', 'p50', 'p99.9']);
    expect(percentileFraction('p99.9')).toBeCloseTo(0.999, 12);
    expect(percentileFraction('p5')).toBe(0.05);
    for (const bad of ['p0', 'p100', 'p', 'p-5', 'p1e1', 'p050.']) expect(functionFor(bad)).toBeUndefined();
  });

  it('an unknown name is a usage error whose hint lists the registry', () => {
    const err = (() => {
      try {
        parseFns('avg,median');
      } catch (e) {
        return e as { code: string; hint: string; message: string };
      }
      throw new Error('parseFns accepted median');
    })();
    expect(err.code).toBe('USAGE');
    expect(err.message).toBe("unknown aggregate 'median'");
    expect(err.hint).toBe(
      'use avg, min, max, count, sum, stddev, increase, rate, delta or a percentile pN, 0 < N < 100, decimals too (p99.9) (p95)',
    );
  });

  it('the --fn help says decimal percentiles work (it said p1..p99 while p99.9 worked), and its examples parse', () => {
    expect(functionsHelp()).toBe(
      'aggregates: avg,min,max,count,sum,stddev,increase,rate,delta,p95 (any pN, 0 < N < 100, decimals too (p99.9))',
    );
    for (const name of functionsHelp().match(/p\d+(\.\d+)?/g) ?? []) expect(parseFns(name)).toEqual([name]);
    expect(functionsList()).toContain('p99.9');
  });
});
