import { describe, expect, it, vi } from 'vitest';
import { prettyRowJson, renderJson, writeJsonRows } from '../../src/output/render.js';
import { aggFromSources, rawPage, selectSeries, Params } from '../../src/db/sql/query.js';
import { parseDuration } from '../../src/util/duration.js';
import { extent, lineChart, sparkline } from '../../src/output/chart.js';
import { lttb } from '../../src/query/lttb.js';
import { parseFns } from '../../src/query/functions.js';
import { dateBin } from '../../src/db/sql/plain.js';
import { timeBucket } from '../../src/db/sql/timescale.js';

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
    const spec = { bucket: dateBin, every: parseDuration('1d'), ids: [1], filtered: false, fns: ['avg'] };
    const sql = aggFromSources(spec, [
      { source: 'rollup_1h', from, to: mid, bucketMs: 3_600_000 },
      { source: 'raw', from: mid, to, bucketMs: 0 },
    ]);
    expect(sql.text).toContain(
      "SELECT r.series_id, date_bin(INTERVAL '1 days', r.bucket, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket, r.count::float8 AS n",
    );
    expect(sql.text).toContain('FROM iotctl.rollup_1h r WHERE r.bucket >= $2::timestamptz');
    expect(sql.text).toContain(
      "SELECT r.series_id, date_bin(INTERVAL '1 days', r.time, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket",
    );
    expect(sql.text).toContain('a.s / a.n AS avg');
    expect(sql.values).toEqual([[1], from, mid, mid, to]);
    expect(
      aggFromSources({ ...spec, bucket: timeBucket }, [{ source: 'raw', from, to, bucketMs: 0 }]).text,
    ).toContain("time_bucket(INTERVAL '1 days', r.time)");
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

describe('streamed JSON (render.ts)', () => {
  const rows = [
    {
      time: new Date('2026-01-05T00:00:00Z'),
      device: 'a "quoted"\\ one\n',
      metric: 'tëmp ☃',
      unit: null,
      avg: 1.5,
    },
    { time: new Date('2026-01-05T01:00:00Z'), device: '😀', metric: '\u0007', unit: '°C', avg: -0, n: 1e21 },
    {
      time: new Date(Number.NaN),
      device: 'b',
      metric: 'm',
      unit: 'x',
      avg: Number.NaN,
      extra: [1, { k: [] }],
    },
    { time: new Date('2026-01-05T02:00:00Z'), device: 'c', metric: 'm', unit: undefined, avg: 0.1 + 0.2 },
  ];
  const keys = ['time', 'device', 'metric', 'unit', 'avg', 'n', 'extra'];

  it('prettyRowJson prints a row as JSON.stringify(row, null, 2) does inside a document', () => {
    const row = prettyRowJson(keys, 2);
    for (const r of rows) {
      expect(row(r)).toBe(JSON.stringify(r, null, 2).replaceAll('\n', '\n    '));
    }
    expect(prettyRowJson(['x'], 2)({})).toBe('{}');
  });

  it('writeJsonRows writes what renderJson of the whole document gives, in pieces, also with no rows', async () => {
    async function* from<R>(list: R[]) {
      // Pages of two rows, and an empty one.
      for (let i = 0; i < list.length; i += 2) yield list.slice(i, i + 2);
      yield [];
    }
    for (const list of [rows, [], rows.slice(0, 1)]) {
      const chunks: string[] = [];
      const spy = vi.spyOn(process.stdout, 'write').mockImplementation((c) => {
        chunks.push(String(c));
        return true;
      });
      try {
        await writeJsonRows(
          { every: '1h', fns: ['avg'] },
          from(list),
          { explain: [{ a: 1 }] },
          prettyRowJson(keys, 2),
        );
      } finally {
        spy.mockRestore();
      }
      expect(chunks.join('')).toBe(
        renderJson({ every: '1h', fns: ['avg'], rows: list, explain: [{ a: 1 }] }),
      );
    }
  });
});
