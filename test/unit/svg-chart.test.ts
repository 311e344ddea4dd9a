// The SVG charts of --chart out.svg: parsed strictly, then their structure checked (axes, one path per
// line, legend entries, incident rectangles where their times fall, markers, escaping).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { IotctlError } from '../../src/errors.js';
import { chartFileOf, LineReducer, SeriesCollector } from '../../src/output/chart-file.js';
import {
  LEGEND_MAX,
  niceTicks,
  renderSvgChart,
  timeTicks,
  type ChartLine,
  type SvgChartSpec,
} from '../../src/output/svg.js';
import { byClass, parseSvg, plotX, type SvgNode } from '../helpers/svg.js';

const T0 = Date.UTC(2026, 0, 5);
const HOUR = 3_600_000;

function wave(key: string, label: string, hours: number, phase = 0, dash?: ChartLine['dash']): ChartLine {
  const points = Array.from({ length: hours * 12 + 1 }, (_, i) => ({
    t: T0 + i * 300_000,
    v: 20 + 5 * Math.sin(i / 20 + phase),
  }));
  return { key, label, dash, points };
}

const legendEntries = (root: SvgNode) => byClass(root, 'g', 'entry');
const legendTexts = (root: SvgNode) =>
  legendEntries(root).map((e) => e.children.find((c) => c.tag === 'text')?.text);

describe('renderSvgChart', () => {
  const spec: SvgChartSpec = {
    title: 'temperature: avg, max per 1h',
    subtitle: 'a range',
    units: ['°C', '°C'],
    yLabel: 'per 1h',
    domain: { from: T0, to: T0 + 10 * HOUR },
    lines: [
      wave('hall-1', 'hall-1 temperature avg', 10),
      wave('hall-1', 'hall-1 temperature max', 10, 0.3, 'dashed'),
      wave('hall-2', 'hall-2 temperature avg', 10, 1),
    ],
    spans: [
      { key: 'hall-2', label: 'an incident', from: T0 + 2 * HOUR, to: T0 + 3 * HOUR },
      { key: 'hall-2', label: 'another', from: T0 + 7.5 * HOUR, to: T0 + 8 * HOUR },
    ],
    spanLabel: 'incidents (2)',
    markers: [
      { key: 'hall-2', t: T0 + 2.5 * HOUR, v: 24 },
      { key: 'hall-2', t: T0 + 7.75 * HOUR, v: 16 },
    ],
    markerLabel: 'flagged readings (2)',
  };
  const svg = renderSvgChart(spec);
  const root = parseSvg(svg);

  it('has both axes with ticks, the title, and the unit on the y axis', () => {
    expect(byClass(root, 'g', 'x')).toHaveLength(1);
    expect(byClass(root, 'g', 'y')).toHaveLength(1);
    const xTicks = byClass(byClass(root, 'g', 'x')[0]!, 'text', 'tick');
    const yTicks = byClass(byClass(root, 'g', 'y')[0]!, 'text', 'tick');
    expect(xTicks.length).toBeGreaterThanOrEqual(3);
    expect(yTicks.length).toBeGreaterThanOrEqual(3);
    expect(byClass(root, 'text', 'title')[0]!.text).toBe(spec.title);
    expect(byClass(byClass(root, 'g', 'y')[0]!, 'text', 'label')[0]!.text).toBe('per 1h (°C)');
    // Time ticks fall on whole hours here (a 10-hour span) and are labelled HH:MM.
    for (const t of xTicks) {
      expect(Date.parse(t.attrs['data-time']!) % HOUR).toBe(0);
      expect(t.children[0]!.text).toMatch(/^\d\d:00$/);
    }
  });

  it('draws one path per line, in the series colour, and lists each in the legend', () => {
    const paths = byClass(root, 'path', 'line');
    expect(paths).toHaveLength(spec.lines.length);
    expect(paths.map((p) => p.attrs['data-label'])).toEqual(spec.lines.map((l) => l.label));
    // A series keeps its colour across its lines; another series has another.
    expect(paths[0]!.attrs.stroke).toBe(paths[1]!.attrs.stroke);
    expect(paths[2]!.attrs.stroke).not.toBe(paths[0]!.attrs.stroke);
    expect(paths[1]!.attrs['stroke-dasharray']).toBeDefined();
    expect(legendTexts(root)).toEqual([
      ...spec.lines.map((l) => l.label),
      'incidents (2)',
      'flagged readings (2)',
    ]);
    // The legend's swatch has the line's colour.
    const swatch = legendEntries(root)[2]!.children.find((c) => c.tag === 'line')!;
    expect(swatch.attrs.stroke).toBe(paths[2]!.attrs.stroke);
    // Each path starts at the first point and has one segment per point (under the pixel budget).
    expect(paths[0]!.attrs.d!.match(/[ML]/g)).toHaveLength(spec.lines[0]!.points.length);
  });

  it('shades each incident from its start to its end on the time axis', () => {
    const [left, right] = plotX(root);
    const xAt = (t: number) =>
      left + ((t - spec.domain!.from) / (spec.domain!.to - spec.domain!.from)) * (right - left);
    const rects = byClass(root, 'rect', 'span');
    expect(rects).toHaveLength(2);
    for (const [i, s] of spec.spans!.entries()) {
      const r = rects[i]!;
      expect(Number(r.attrs.x)).toBeCloseTo(xAt(s.from), 0);
      expect(Number(r.attrs.x) + Number(r.attrs.width)).toBeCloseTo(xAt(s.to), 0);
      expect(r.attrs['data-from']).toBe(new Date(s.from).toISOString());
    }
    const markers = byClass(root, 'circle', 'marker');
    expect(markers.map((m) => Number(m.attrs.cx))).toEqual(
      spec.markers!.map((m) => Math.round(xAt(m.t) * 10) / 10),
    );
  });

  it('escapes device names with < & " in text and attributes', () => {
    const name = 'b<&">\'x';
    const out = renderSvgChart({
      ...spec,
      title: `t ${name}`,
      lines: [wave(name, `${name} temp`, 2)],
      spans: [],
      markers: [],
    });
    expect(out).not.toContain(name);
    const r = parseSvg(out);
    expect(byClass(r, 'text', 'title')[0]!.text).toBe(`t ${name}`);
    expect(byClass(r, 'path', 'line')[0]!.attrs['data-label']).toBe(`${name} temp`);
    expect(legendTexts(r)).toEqual([`${name} temp`]);
  });

  it('caps the legend with "+N more" and says how many series were not drawn', () => {
    const lines = Array.from({ length: LEGEND_MAX + 6 }, (_, i) => wave(`s${i}`, `series ${i}`, 1, i));
    const r = parseSvg(renderSvgChart({ ...spec, lines, spans: [], markers: [], notDrawn: 4 }));
    expect(byClass(r, 'path', 'line')).toHaveLength(lines.length);
    expect(legendEntries(r)).toHaveLength(LEGEND_MAX - 1);
    expect(byClass(r, 'text', 'more').map((t) => t.text)).toEqual([
      `+${lines.length - (LEGEND_MAX - 1)} more`,
      '+4 more series not drawn',
    ]);
  });

  it('an empty chart is still a valid SVG with axes and says so', () => {
    const r = parseSvg(renderSvgChart({ title: 'x', units: [null], yLabel: 'value', lines: [] }));
    expect(byClass(r, 'g', 'x')).toHaveLength(1);
    expect(byClass(r, 'text', 'empty')[0]!.text).toBe('no data');
  });
});

describe('ticks', () => {
  it('y ticks are 1, 2, 2.5 or 5 times a power of ten and cover the values', () => {
    for (const [lo, hi] of [
      [0.013, 0.087],
      [-3, 17],
      [999, 1003],
      [12_345, 98_765],
      [5, 5],
    ] as const) {
      const { ticks, step } = niceTicks(lo, hi);
      expect(ticks[0]).toBeLessThanOrEqual(lo);
      expect(ticks[ticks.length - 1]).toBeGreaterThanOrEqual(hi);
      const mantissa = step / 10 ** Math.floor(Math.log10(step));
      expect([1, 2, 2.5, 5]).toContain(Number(mantissa.toPrecision(6)));
      expect(ticks.length).toBeLessThanOrEqual(12);
    }
  });

  it('time ticks are round in UTC, evenly spaced: seconds, minutes, hours, days, months', () => {
    const from = T0 + 7 * 60_000 + 13_700;
    for (const span of [45_000, 90 * 60_000, 36 * HOUR, 5 * 24 * HOUR, 20 * 24 * HOUR]) {
      const ticks = timeTicks(from, from + span).map((t) => t.t);
      expect(ticks.length).toBeGreaterThanOrEqual(4);
      expect(ticks.length).toBeLessThanOrEqual(10);
      const step = ticks[1]! - ticks[0]!;
      for (const [i, t] of ticks.entries()) {
        expect(t % step).toBe(0);
        if (i) expect(t - ticks[i - 1]!).toBe(step);
        expect(t).toBeGreaterThanOrEqual(from);
        expect(t).toBeLessThanOrEqual(from + span);
      }
    }
    const months = timeTicks(from, from + 400 * 24 * HOUR);
    expect(months.length).toBeGreaterThanOrEqual(4);
    for (const t of months) {
      expect(new Date(t.t).toISOString()).toMatch(/^\d{4}-\d\d-01T00:00:00.000Z$/);
      expect(t.label[0]).toBe(new Date(t.t).toISOString().slice(0, 7));
    }
  });

  it('the date is shown at the first tick and where the day changes', () => {
    const ticks = timeTicks(T0 + 18 * HOUR, T0 + 30 * HOUR);
    const withDate = ticks.filter((t) => t.label.length === 2).map((t) => t.label[1]);
    expect(withDate).toEqual(['01-05', '01-06']);
  });
});

describe('LineReducer', () => {
  it('keeps the first, lowest, highest and last point of each column, in time order', () => {
    const n = 200_000;
    const r = new LineReducer(0, n, 100);
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = Math.sin(i / 7) * (1 + (i % 97)) + (i === 123_456 ? 1000 : 0);
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
      r.add(i, v);
    }
    const pts = r.finish();
    expect(pts.length).toBeLessThanOrEqual(400);
    expect(pts.length).toBeGreaterThan(200);
    const values = pts.map((p) => p.v as number);
    expect(Math.min(...values)).toBe(lo);
    expect(Math.max(...values)).toBe(hi);
    expect(pts[0]!.t).toBe(0);
    expect(pts[pts.length - 1]!.t).toBe(n - 1);
    for (let i = 1; i < pts.length; i++) expect(pts[i]!.t).toBeGreaterThan(pts[i - 1]!.t);
  });

  it('a null value breaks the line', () => {
    const r = new LineReducer(0, 10, 10);
    [1, 2, null, 4].forEach((v, i) => r.add(i, v));
    expect(r.finish().map((p) => p.v)).toEqual([1, 2, null, 4]);
  });
});

describe('SeriesCollector', () => {
  it('draws at most the cap and counts the other series', () => {
    const c = new SeriesCollector(0, 100, 3);
    for (let s = 0; s < 5; s++) for (let t = 0; t < 10; t++) c.add(`d${s}`, 'm', 'C', 'avg', t, t);
    expect(c.lines(['avg'], false).map((l) => l.label)).toEqual(['d0 m avg', 'd1 m avg', 'd2 m avg']);
    expect(c.notDrawn).toBe(2);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      c.warnNotDrawn();
      expect(stderr.mock.calls.map((a) => a[0])).toEqual([
        'warning: --chart: drew 3 of 5 series; narrow with --device or --metric\n',
      ]);
    } finally {
      stderr.mockRestore();
    }
  });
});

describe('chartFileOf', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-chart-'));
  const fails = (flag: string) => {
    try {
      chartFileOf(flag);
    } catch (err) {
      return err as IotctlError;
    }
    throw new Error(`${flag} was accepted`);
  };

  it('a bare --chart draws in the terminal; .svg and .png are files', () => {
    expect(chartFileOf(true)).toBeUndefined();
    expect(chartFileOf(undefined)).toBeUndefined();
    expect(chartFileOf(path.join(dir, 'a.svg'))).toEqual({ path: path.join(dir, 'a.svg'), format: 'svg' });
    expect(chartFileOf(path.join(dir, 'a.PNG'))?.format).toBe('png');
  });

  it('another extension, a missing directory or a directory is a usage error (exit 2)', () => {
    fs.mkdirSync(path.join(dir, 'taken.svg'));
    fs.writeFileSync(path.join(dir, 'file'), '');
    for (const [flag, message] of [
      [path.join(dir, 'a.jpg'), /--chart takes a file ending \.svg or \.png/],
      [path.join(dir, 'nope', 'a.svg'), /cannot write the chart file .*: no such directory/],
      [path.join(dir, 'file', 'a.svg'), /cannot write the chart file .*: no such directory/],
      [path.join(dir, 'taken.svg'), /cannot write the chart file .*: it is a directory/],
    ] as const) {
      const err = fails(flag);
      expect(err).toBeInstanceOf(IotctlError);
      expect(err.exitCode).toBe(2);
      expect(err.message).toMatch(message);
    }
  });
});
