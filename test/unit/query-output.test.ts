import { describe, expect, it } from 'vitest';
import { aggCombined, rawPage, selectSeries, Params } from '../../src/db/sql/query.js';
import { extent, lineChart, sparkline } from '../../src/output/chart.js';
import { lttb } from '../../src/query/lttb.js';
import { parseFns } from '../../src/query/functions.js';

describe('lttb', () => {
  const data = Array.from({ length: 1000 }, (_, i) => ({ x: i, y: i === 500 ? 100 : Math.sin(i / 50) }));

  it('keeps n points: the first, the last, and the extremes that shape the line', () => {
    const out = lttb(data, 50);
    expect(out).toHaveLength(50);
    expect(out[0]).toBe(data[0]);
    expect(out.at(-1)).toBe(data[999]);
    expect(out.some((p) => p.y === 100)).toBe(true);
    expect(out.map((p) => p.x)).toEqual([...out.map((p) => p.x)].sort((a, b) => a - b));
  });

  it('returns the data unchanged when it already fits', () => {
    expect(lttb(data.slice(0, 10), 20)).toEqual(data.slice(0, 10));
    expect(lttb(data, 2)).toEqual([data[0], data[999]]);
  });
});

describe('charts', () => {
  it('sparkline maps the range onto eight levels, nulls as spaces, flat as mid-level', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7])).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([1, null, 8])).toBe('▁ █');
    expect(sparkline([5, 5, 5])).toBe('▄▄▄');
    expect(
      sparkline(
        Array.from({ length: 100 }, (_, i) => i),
        10,
      ),
    ).toHaveLength(10);
    expect(sparkline([])).toBe('');
  });

  it('lineChart draws points, joins a jump, and labels both axes', () => {
    const t0 = Date.UTC(2026, 0, 5);
    const pts = Array.from({ length: 20 }, (_, i) => ({ t: t0 + i * 60_000, v: i === 10 ? 10 : 0 }));
    const chart = lineChart(pts, { width: 20, height: 5, title: 'spike' }).split('\n');
    expect(chart[0]).toBe('spike');
    expect(chart[1]).toBe(' 10 ┤          •│        ');
    expect(chart[3]).toBe('  5 ┤          ││        ');
    expect(chart[5]).toBe('  0 ┤••••••••••│•••••••••');
    expect(chart[6]).toBe('    └' + '─'.repeat(20));
    expect(chart[7]).toBe('     2026-01-05T00:00Z 2026-01-05T00:19Z');
    expect(lineChart([], { title: 'x' })).toBe('x\n(no data)');
  });
});

describe('charts of large series (regression: Math.min(...values) overflowed the stack)', () => {
  const n = 300_000;
  const t0 = Date.UTC(2026, 0, 5);
  const points = Array.from({ length: n }, (_, i) => ({ t: t0 + i * 1000, v: i === 150_000 ? 99 : i % 7 }));

  it('lineChart draws 300k points at the chart width, keeping the extremes', () => {
    const chart = lineChart(points, { width: 40, height: 5 }).split('\n');
    expect(chart).toHaveLength(7);
    expect(chart[0]).toMatch(/^ *99 ┤ +•/);
    expect(chart[4]).toMatch(/^ *0 ┤•+/);
  });

  it('sparkline and extent take 300k values', () => {
    const values = points.map((p, i) => (i % 5 === 1 ? null : p.v));
    expect(sparkline(values, 10)).toHaveLength(10);
    expect(extent(values)).toEqual({ lo: 0, hi: 99 });
    expect(extent([null, null])).toBeNull();
  });
});

describe('SQL builders', () => {
  it('selects series with every value as a parameter', () => {
    const p = new Params();
    expect(selectSeries({ metric: 'temp', devices: ['a', 'b'], deviceLike: "hall-%'" }, p)).toBe(
      'sel AS (SELECT id, device_id, metric, unit FROM iotctl.series WHERE metric = $1 AND device_id = ANY($2::text[]) AND device_id LIKE $3)',
    );
    expect(p.values).toEqual(['temp', ['a', 'b'], "hall-%'"]);
  });

  it('recombines rollup and raw segments with the same bucket expression', () => {
    const from = new Date('2026-01-05T00:00:00Z');
    const mid = new Date('2026-01-05T10:00:00Z');
    const to = new Date('2026-01-05T10:30:00Z');
    const sql = aggCombined(
      'plain',
      '1 hour',
      [
        { source: 'rollup_1h', from, to: mid },
        { source: 'raw', from: mid, to },
      ],
      {},
    );
    expect(sql.text).toContain(
      "SELECT date_bin(INTERVAL '1 hour', r.bucket, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket, r.series_id, sum(r.count)::float8 AS n",
    );
    expect(sql.text).toContain('FROM iotctl.rollup_1h r JOIN sel ON sel.id = r.series_id');
    expect(sql.text).toContain(
      "SELECT date_bin(INTERVAL '1 hour', r.time, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket",
    );
    expect(sql.text).toContain('sum(a.s) / sum(a.n) AS avg');
    expect(sql.values).toEqual([from, mid, mid, to]);
    expect(aggCombined('timescaledb', '1 hour', [{ source: 'raw', from, to }], {}).text).toContain(
      "time_bucket(INTERVAL '1 hour', r.time)",
    );
  });

  it('pages raw readings by (series_id, time) keyset', () => {
    const t = new Date('2026-01-05T00:00:00Z');
    const sql = rawPage({}, { from: t, to: t }, 100, { seriesId: 7, time: t });
    expect(sql.text).toContain(
      'AND (r.series_id > $3::int OR (r.series_id = $3::int AND r.time > $4::timestamptz))',
    );
    expect(sql.text).toContain('ORDER BY r.series_id, r.time\n LIMIT $5::int');
    expect(sql.values).toEqual([t, t, 7, t, 100]);
  });
});

describe('parseFns', () => {
  it('accepts the basic aggregates and percentiles, once each', () => {
    expect(parseFns('avg, max,p95,avg,P99.9')).toEqual(['avg', 'max', 'p95', 'p99.9']);
    expect(() => parseFns('median')).toThrow(/unknown aggregate 'median'/);
    expect(() => parseFns('p0')).toThrow(/unknown aggregate/);
    expect(() => parseFns('p100')).toThrow(/unknown aggregate/);
  });
});
