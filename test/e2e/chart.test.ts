// --chart out.svg as a subprocess: query agg, query raw, forecast and anomalies write a parsable SVG with
// one line per series, stdout stays what the command prints without it, the path is said on stderr.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { byClass, parseSvg, plotX, type SvgNode } from '../helpers/svg.js';
import { makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';
import { addSeries, at, initStore } from '../integration/query-data.js';

// A device id that needs escaping in XML, beside a plain one.
const ODD = 'b<&">';
const SPIKE = 1500;
const DAYS = 2;
const range = ['--since', at(0).toISOString(), '--until', at(DAYS * 1440).toISOString()];

/**
 * Output with every decimal rounded to 12 significant digits. A server sums floats in the order its plan
 * reads the rows, and autovacuum's ANALYZE between two runs can change that plan: the same aggregate
 * then differs in its last digit (a forecast's fit did, in CI).
 */
const digits12 = (out: string) =>
  out.replace(/-?\d+\.\d+(?:e[+-]?\d+)?/gi, (x) => String(Number(Number(x).toPrecision(12))));

const lines = (svg: SvgNode) => byClass(svg, 'path', 'line');
const legend = (svg: SvgNode) =>
  byClass(svg, 'g', 'entry').map((e) => e.children.find((c) => c.tag === 'text')?.text);

describe.each(targetKinds)('--chart out.svg on the %s target', (kind) => {
  let target: TestTarget;
  let dir: string;
  const cli = (...args: string[]) => runCli([...args, '--db', target.spec]);
  const file = (name: string) => path.join(dir, name);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-chart-e2e-'));
    target = await makeTarget(kind);
    const db = await target.open();
    try {
      const store = await initStore(db);
      for (const device of ['a', ODD])
        await addSeries(db, store, {
          device,
          metric: 'temp',
          unit: '°C',
          first: 0,
          last: DAYS * 1440 - 1,
          valueSql: `20 - 5 * cos(2 * pi() * i / 1440)${device === 'a' ? ` + CASE WHEN i = ${SPIKE} THEN 30 ELSE 0 END` : ''}`,
          skip: 'i % 5 <> 0',
        });
    } finally {
      await db.close();
    }
  });
  afterAll(async () => {
    await target?.cleanup();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the command with and without --chart: the same stdout, the file parsed, the path on stderr. */
  async function withChart(name: string, args: string[]): Promise<{ svg: SvgNode; stdout: string }> {
    const out = file(name);
    fs.writeFileSync(out, 'an older file, overwritten');
    const plain = await cli(...args);
    const charted = await cli(...args, '--chart', out);
    expect(plain.code).toBe(0);
    expect(charted.code).toBe(0);
    expect(digits12(charted.stdout)).toBe(digits12(plain.stdout));
    expect(charted.stderr).toContain(`chart written to ${out}\n`);
    expect(charted.stderr).not.toMatch(/warning/);
    return { svg: parseSvg(fs.readFileSync(out, 'utf8')), stdout: charted.stdout };
  }

  it('query agg: a line per series and aggregate, count left out, the unit on the axis', async () => {
    const { svg, stdout } = await withChart('agg.svg', [
      'query',
      'agg',
      '--metric',
      'temp',
      ...range,
      '--every',
      '1h',
      '--fn',
      'avg,max,count',
      '--json',
    ]);
    expect(JSON.parse(stdout).rows).toHaveLength(2 * DAYS * 24);
    expect(lines(svg).map((l) => l.attrs['data-label'])).toEqual([
      'a temp avg',
      'a temp max',
      `${ODD} temp avg`,
      `${ODD} temp max`,
    ]);
    expect(legend(svg)).toEqual(lines(svg).map((l) => l.attrs['data-label']));
    expect(byClass(svg, 'text', 'label').map((t) => t.text)).toContain('per 1h (°C)');
    // One point per bucket: 48 hourly buckets, each below the pixel budget.
    expect(lines(svg)[0]!.attrs.d!.match(/[ML]/g)).toHaveLength(DAYS * 24);
  });

  it('query raw: a line per series beside csv on stdout', async () => {
    const { svg, stdout } = await withChart('raw.svg', [
      'query',
      'raw',
      '--metric',
      'temp',
      ...range,
      '--format',
      'csv',
    ]);
    expect(stdout.trimEnd().split('\n')).toHaveLength(1 + (2 * (DAYS * 1440)) / 5);
    expect(lines(svg).map((l) => l.attrs['data-label'])).toEqual(['a temp', `${ODD} temp`]);
  });

  it('forecast: history, forecast and the two interval bands', async () => {
    const { svg } = await withChart('forecast.svg', [
      'forecast',
      '--metric',
      'temp',
      '--device',
      'a',
      '--horizon',
      '12h',
      '--json',
    ]);
    expect(lines(svg).map((l) => l.attrs['data-label'])).toEqual(['history', 'forecast']);
    expect(byClass(svg, 'path', 'band')).toHaveLength(2);
    expect(legend(svg)).toEqual(['history', 'forecast', '95% interval', '80% interval']);
  });

  it('anomalies: the incident shaded where it is, its flagged reading marked', async () => {
    const { svg, stdout } = await withChart('anomalies.svg', [
      'anomalies',
      '--metric',
      'temp',
      '--method',
      'range',
      '--max',
      '40',
      ...range,
      '--json',
    ]);
    const incidents = JSON.parse(stdout) as Array<{ device: string; start: string; end: string }>;
    expect(incidents.map((i) => [i.device, i.start])).toEqual([['a', at(SPIKE).toISOString()]]);
    const rects = byClass(svg, 'rect', 'span');
    expect(rects).toHaveLength(1);
    expect(rects[0]!.attrs['data-from']).toBe(at(SPIKE).toISOString());
    const [left, right] = plotX(svg);
    const x = left + (SPIKE / (DAYS * 1440)) * (right - left);
    expect(Number(rects[0]!.attrs.x)).toBeCloseTo(x, 0);
    const markers = byClass(svg, 'circle', 'marker');
    expect(markers.map((m) => m.attrs['data-time'])).toEqual([at(SPIKE).toISOString()]);
    // The series with the incident first, then the other selected one.
    expect(lines(svg).map((l) => l.attrs['data-label'])).toEqual(['a temp', `${ODD} temp`]);
    expect(legend(svg)).toEqual(['a temp', `${ODD} temp`, 'incidents (1)', 'flagged readings (1)']);
  });

  it('anomalies --points over a few hours: every reading drawn, the flagged one marked, nothing shaded', async () => {
    const from = SPIKE - 300;
    const until = SPIKE + 300;
    const { svg, stdout } = await withChart('points.svg', [
      'anomalies',
      '--metric',
      'temp',
      '--device',
      'a',
      '--method',
      'range',
      '--max',
      '40',
      '--points',
      '--since',
      at(from).toISOString(),
      '--until',
      at(until).toISOString(),
      '--json',
    ]);
    expect(JSON.parse(stdout).rows.map((r: { time: string }) => r.time)).toEqual([at(SPIKE).toISOString()]);
    expect(byClass(svg, 'rect', 'span')).toHaveLength(0);
    expect(byClass(svg, 'circle', 'marker').map((m) => m.attrs['data-time'])).toEqual([
      at(SPIKE).toISOString(),
    ]);
    // One reading every 5 minutes, each its own pixel column: one path command per reading.
    expect(lines(svg).map((l) => l.attrs.d!.match(/[ML]/g)?.length)).toEqual([(until - from) / 5]);
  });

  it('a file in a missing directory, or another extension, is a usage error before any output', async () => {
    const missing = file('nope/x.svg');
    const r = await cli('query', 'agg', '--metric', 'temp', ...range, '--chart', missing);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`error: cannot write the chart file ${missing}: no such directory\n`);
    const jpg = await cli(
      'forecast',
      '--metric',
      'temp',
      '--device',
      'a',
      '--horizon',
      '1h',
      '--chart',
      'x.jpg',
    );
    expect(jpg.code).toBe(2);
    expect(jpg.stderr).toMatch(/^error: --chart takes a file ending \.svg or \.png, got 'x\.jpg'/);
  });

  it('--chart out.png writes a PNG', async () => {
    const out = file('agg.png');
    const r = await cli(
      'query',
      'agg',
      '--metric',
      'temp',
      ...range,
      '--every',
      '1h',
      '--chart',
      out,
      '--json',
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`chart written to ${out}`);
    const png = fs.readFileSync(out);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    // 960 × 480 at twice the size.
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1920, 960]);
  });
});
