import { describe, expect, it } from 'vitest';
import {
  candidatePlans,
  choosePlan,
  describePlan,
  planSources,
  ROW_COST,
  SWITCH_MARGIN,
  type RollupState,
} from '../../src/query/plan.js';
import { ceilToBucket as ceilTo, floorToBucket as floorTo } from '../../src/util/buckets.js';

const H = 3_600_000;
const M = 60_000;
const D = 24 * H;
const T0 = Date.UTC(2026, 0, 5); // a Monday: aligned to every bucket
const rollup = (
  name: string,
  bucketMs: number,
  bucketText: string,
  over: Partial<RollupState> = {},
): RollupState => ({
  name,
  bucketMs,
  bucketText,
  completeFrom: -Infinity,
  completeUntil: Infinity,
  pending: [],
  ...over,
});
const all = [rollup('rollup_1m', M, '1m'), rollup('rollup_1h', H, '1h'), rollup('rollup_1d', D, '1d')];
const shape = (segs: ReturnType<typeof planSources>) =>
  segs.map((s) => [s.source, (s.from.getTime() - T0) / M, (s.to.getTime() - T0) / M]);

describe('planSources', () => {
  it('reads the coarsest rollup whose bucket divides --every, finer ones and raw at the unaligned edges', () => {
    const plan = planSources({
      from: T0 + 90 * M + 5000,
      to: T0 + 2 * D + 30 * M + 1,
      everyMs: D,
      everyText: '1d',
      rollups: all,
    });
    expect(shape(plan)).toEqual([
      ['raw', 90 + 5 / 60, 91],
      ['rollup_1m', 91, 120],
      ['rollup_1h', 120, 1440],
      ['rollup_1d', 1440, 2880],
      ['rollup_1m', 2880, 2910],
      ['raw', 2910, 2910 + 1 / M],
    ]);
  });

  it('uses rollup_1h for --every 1h even when a day rollup exists, and nothing coarser than --every', () => {
    expect(
      shape(planSources({ from: T0, to: T0 + 2 * D, everyMs: H, everyText: '1h', rollups: all })),
    ).toEqual([['rollup_1h', 0, 2880]]);
    expect(
      shape(planSources({ from: T0, to: T0 + 2 * D, everyMs: 90 * M, everyText: '90m', rollups: all })),
    ).toEqual([['rollup_1m', 0, 2880]]);
  });

  it('reads raw when no rollup bucket divides --every, or percentiles need raw values', () => {
    const odd = planSources({ from: T0, to: T0 + H, everyMs: 90_000, everyText: '90s', rollups: all });
    expect(odd).toEqual([
      {
        source: 'raw',
        from: new Date(T0),
        to: new Date(T0 + H),
        reason: 'no rollup bucket (1m, 1h, 1d) divides --every 90s',
      },
    ]);
    const p95 = planSources({
      from: T0,
      to: T0 + H,
      everyMs: H,
      everyText: '1h',
      rollups: all,
      rawOnly: 'p95 needs raw',
    });
    expect(p95.map((s) => s.reason)).toEqual(['p95 needs raw']);
  });

  it('reads a plain-mode rollup only below its watermark, the tail from finer rollups and raw', () => {
    const rollups = [
      rollup('rollup_1m', M, '1m', { completeUntil: T0 + D + 150 * M }),
      rollup('rollup_1h', H, '1h', { completeUntil: T0 + D + 2 * H + 59 * M }),
    ];
    const plan = planSources({ from: T0, to: T0 + 2 * D, everyMs: H, everyText: '1h', rollups });
    expect(shape(plan)).toEqual([
      ['rollup_1h', 0, 1440 + 120],
      ['rollup_1m', 1440 + 120, 1440 + 150],
      ['raw', 1440 + 150, 2880],
    ]);
    expect(plan[2]?.reason).toBe(
      'after the rollup_1m watermark 2026-01-06T02:30:00.000Z (the real-time tail)',
    );
    const none = planSources({
      from: T0,
      to: T0 + D,
      everyMs: H,
      everyText: '1h',
      rollups: [rollup('rollup_1h', H, '1h', { completeUntil: -Infinity })],
    });
    expect(none).toMatchObject([
      { source: 'raw', reason: 'rollup_1h has no watermark yet (never refreshed)' },
    ]);
  });

  it('skips a rollup with pending invalidations in the range (TimescaleDB backfill below the watermark)', () => {
    const pending: Array<[number, number]> = [[T0 + 600 * M + 30_000, T0 + 600 * M + 30_000]];
    const rollups = all.map((r) => ({ ...r, pending }));
    const plan = planSources({ from: T0, to: T0 + D, everyMs: H, everyText: '1h', rollups });
    expect(plan).toMatchObject([
      { source: 'raw', reason: expect.stringMatching(/rollup_1m has pending invalidations/) },
    ]);
    // Outside the pending range the rollup is used.
    expect(
      shape(planSources({ from: T0 + D, to: T0 + 2 * D, everyMs: H, everyText: '1h', rollups })),
    ).toEqual([['rollup_1h', 1440, 2880]]);
  });

  it('reads a rollup only from its retention cutoff on, older buckets from finer rollups and raw', () => {
    // rollup_1h kept from day 1 10:00 (its deleted buckets end before that); rollup_1m kept from day 1 00:00.
    const rollups = [
      rollup('rollup_1m', M, '1m', { completeFrom: T0 + D, retention: '30 days' }),
      rollup('rollup_1h', H, '1h', { completeFrom: T0 + D + 10 * H, retention: '90 days' }),
    ];
    const plan = planSources({ from: T0, to: T0 + 2 * D, everyMs: H, everyText: '1h', rollups });
    expect(shape(plan)).toEqual([
      ['raw', 0, 1440],
      ['rollup_1m', 1440, 1440 + 600],
      ['rollup_1h', 1440 + 600, 2880],
    ]);
    expect(plan[0]?.reason).toBe(
      'older than the rollup_1m retention cutoff 2026-01-06T00:00:00.000Z (kept 30 days)',
    );
    expect(plan[1]?.reason).toMatch(/whole multiple of 1m/);
    // Entirely older than every rollup's cutoff: raw, and the reason names the finest rollup's retention.
    const old = planSources({ from: T0, to: T0 + D, everyMs: M, everyText: '1m', rollups });
    expect(old).toMatchObject([
      { source: 'raw', reason: expect.stringMatching(/rollup_1m retention cutoff/) },
    ]);
  });

  it('plain mode: a dirty mark ends a rollup and every coarser one at its bucket (contract)', () => {
    const dirty = { rollup: 'rollup_1m', from: T0 + 600 * M + 30_000 };
    const rollups = [
      rollup('rollup_1m', M, '1m', { completeUntil: T0 + 600 * M, dirty }),
      rollup('rollup_1h', H, '1h', { completeUntil: T0 + 600 * M, dirty }),
    ];
    const plan = planSources({ from: T0, to: T0 + D, everyMs: H, everyText: '1h', rollups });
    expect(shape(plan)).toEqual([
      ['rollup_1h', 0, 600],
      ['raw', 600, 1440],
    ]);
    expect(plan[1]?.reason).toBe(
      'rollup_1m is not exact from 2026-01-05T10:00:00.000Z: rows changed below its watermark since the last refresh (dirty:rollup_1m from 2026-01-05T10:00:30.000Z)',
    );
  });

  it('describes each segment in one line', () => {
    expect(
      describePlan(planSources({ from: T0, to: T0 + H, everyMs: H, everyText: '1h', rollups: all })),
    ).toEqual([
      'rollup_1h  2026-01-05T00:00:00.000Z .. 2026-01-05T01:00:00.000Z  --every 1h is a whole multiple of 1h: the coarsest rollup that answers exactly',
    ]);
  });
});

describe('bucket alignment', () => {
  it('matches time_bucket: origin Monday 2000-01-03, weeks start on Monday', () => {
    const wed = Date.UTC(2026, 0, 7, 13);
    expect(new Date(floorTo(wed, 7 * D)).toISOString()).toBe('2026-01-05T00:00:00.000Z');
    expect(new Date(ceilTo(wed, D)).toISOString()).toBe('2026-01-08T00:00:00.000Z');
    expect(ceilTo(T0, H)).toBe(T0);
  });
});

describe('candidatePlans and choosePlan', () => {
  const bucketOf = (source: string) => ({ rollup_1m: M, rollup_1h: H, rollup_1d: D })[source] ?? 0;
  /** Rows per ms of each source, as sourceDensities would give them. */
  const rowsBy = (density: Record<string, number>) => (s: { source: string; from: Date; to: Date }) =>
    (density[s.source] ?? 0) * (s.to.getTime() - s.from.getTime());

  it('lists the exact plans coarsest first, each without the coarser rollups, down to raw data alone', () => {
    const plans = candidatePlans({
      from: T0 + 30 * M,
      to: T0 + D,
      everyMs: H,
      everyText: '1h',
      rollups: all,
    });
    expect(plans.map(shape)).toEqual([
      [
        ['rollup_1m', 30, 60],
        ['rollup_1h', 60, 1440],
      ],
      [['rollup_1m', 30, 1440]],
      [['raw', 30, 1440]],
    ]);
    // Percentiles: raw data is the only exact plan.
    const p95 = candidatePlans({
      from: T0,
      to: T0 + D,
      everyMs: H,
      everyText: '1h',
      rollups: all,
      rawOnly: 'p95',
    });
    expect(p95.map(shape)).toEqual([[['raw', 0, 1440]]]);
  });

  it('regression: 24h --every 15m over 5-minute readings read rollup_1m, as big as raw data; raw data wins', () => {
    const plans = candidatePlans({ from: T0, to: T0 + D, everyMs: 15 * M, everyText: '15m', rollups: all });
    // 1,000 series, a reading every 5 minutes: one rollup_1m row per reading.
    const perMs = 1000 / (5 * M);
    const choice = choosePlan(plans, rowsBy({ rollup_1m: perMs, raw: perMs }), bucketOf, 15 * M);
    expect(shape(choice.segments)).toEqual([['raw', 0, 1440]]);
    expect(choice.segments[0]?.reason).toBe(
      'raw data is the cheapest exact source: about 288,000 rows to read, against 288,000 with rollup_1m (planner estimates; a rollup row counts as 1.25 readings)',
    );
    expect(choice.costs).toEqual([
      { source: 'raw', rows: 288_000, cost: 288_000 * ROW_COST.raw },
      { source: 'rollup_1m', rows: 288_000, cost: 288_000 * ROW_COST.rollup },
    ]);
    // Readings every second: rollup_1m holds a sixtieth of them and wins.
    const dense = choosePlan(plans, rowsBy({ rollup_1m: 1000 / M, raw: 1000 / 1000 }), bucketOf, 15 * M);
    expect(shape(dense.segments)).toEqual([['rollup_1m', 0, 1440]]);
    expect(dense.segments[0]?.reason).toBe(
      '--every 15m is a whole multiple of 1m; the cheapest exact source: about 1,440,000 rows to read, against 86,400,000 with raw (planner estimates)',
    );
  });

  it('keeps the coarsest plan unless another is cheaper by SWITCH_MARGIN: estimates of small ranges are noise', () => {
    const plans = candidatePlans({
      from: T0,
      to: T0 + 2 * H,
      everyMs: H,
      everyText: '1h',
      rollups: [all[0]!],
    });
    // 120 readings of one series, one a minute: rollup_1m costs 150 weighted rows against raw's 120.
    const tie = choosePlan(plans, rowsBy({ rollup_1m: 1 / M, raw: 1 / M }), bucketOf, H);
    expect(shape(tie.segments)).toEqual([['rollup_1m', 0, 120]]);
    expect(tie.segments[0]?.reason).toBe(
      `--every 1h is a whole multiple of 1m; no other exact source is cheaper by ${100 * SWITCH_MARGIN.share}%: about 120 rows to read, against 120 with raw (planner estimates; a rollup row counts as 1.25 readings)`,
    );
    expect(
      choosePlan(plans, rowsBy({ rollup_1m: 100 / M, raw: 100 / M }), bucketOf, H).segments[0]?.source,
    ).toBe('raw');
  });

  it('a rollup as wide as --every costs less per row (read as stored); a single candidate needs no estimates', () => {
    const plans = candidatePlans({ from: T0, to: T0 + D, everyMs: M, everyText: '1m', rollups: all });
    expect(plans.map(shape)).toEqual([[['rollup_1m', 0, 1440]], [['raw', 0, 1440]]]);
    const perMs = 1000 / M;
    expect(choosePlan(plans, rowsBy({ rollup_1m: perMs, raw: perMs }), bucketOf, M).costs).toEqual([
      { source: 'rollup_1m', rows: 1_440_000, cost: 1_440_000 * ROW_COST.rollupAsStored },
      { source: 'raw', rows: 1_440_000, cost: 1_440_000 },
    ]);
    const one = [[{ source: 'raw', from: new Date(T0), to: new Date(T0 + H), reason: 'p95 needs raw' }]];
    expect(choosePlan(one, () => 0, bucketOf, H)).toEqual({ segments: one[0], costs: [] });
  });
});
