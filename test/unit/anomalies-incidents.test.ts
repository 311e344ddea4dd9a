// Incidents from judged readings: the closing rule, a fault that began before it was detected, the
// device merge, and which run reports an incident.
import { describe, expect, it } from 'vitest';
import {
  IncidentBuilder,
  reportIncidents,
  type SeriesIncident,
  type SeriesKey,
} from '../../src/anomalies/incidents.js';
import type { Verdict } from '../../src/anomalies/method.js';

const MIN = 60_000;
const flag = (score: number): Verdict => ({ flagged: true, score, baseline: 0, kind: 'level' });
const normal: Verdict = { flagged: false, score: 0, baseline: 0 };

/** Feeds minutes 0..n-1, flagged where `flagged(i)` gives a score; history before `since`. */
function build(
  n: number,
  flagged: (i: number) => number | null,
  closeAfter = 3,
  since = 0,
): SeriesIncident[] {
  const out: SeriesIncident[] = [];
  const b = new IncidentBuilder(1, closeAfter, (inc) => out.push(inc));
  for (let i = 0; i < n; i++) {
    const s = flagged(i);
    b.add(i * MIN, i, s === null ? normal : flag(s), i >= since);
  }
  b.finish();
  return out;
}

describe('IncidentBuilder', () => {
  it('joins flagged readings until closeAfter normal ones in a row, then starts a new incident', () => {
    // Flagged at 10, 12, 13 (a gap of one normal reading), then 20 (after 6 normal ones).
    const inc = build(30, (i) => ([10, 12, 13].includes(i) ? i : i === 20 ? -50 : null));
    expect(inc.map((i) => [i.start / MIN, i.end / MIN, i.readings, i.ongoing])).toEqual([
      [10, 13, 3, false],
      [20, 20, 1, false],
    ]);
    expect(inc[0]).toMatchObject({ peakTime: 13 * MIN, peakValue: 13, score: 13, detected: 10 * MIN });
    expect(inc[1]).toMatchObject({ score: -50, peakValue: 20 });
    expect(inc[0]!.cadenceMs).toBe(MIN);
  });

  it('an incident without closeAfter normal readings before the end is ongoing', () => {
    const inc = build(30, (i) => (i >= 28 ? 1 : null));
    expect(inc.map((i) => [i.start / MIN, i.end / MIN, i.ongoing])).toEqual([[28, 29, true]]);
  });

  it('a fault that began before it was detected starts at its onset and counts those readings', () => {
    const out: SeriesIncident[] = [];
    const b = new IncidentBuilder(1, 3, (inc) => out.push(inc));
    for (let i = 0; i < 20; i++) {
      const v: Verdict =
        i === 10 ? { ...flag(9), kind: 'stuck', onset: { time: 5 * MIN, readings: 5 } } : normal;
      b.add(i * MIN, 1, v, true);
    }
    b.finish();
    expect(out.map((i) => [i.start / MIN, i.detected / MIN, i.end / MIN, i.readings])).toEqual([
      [5, 10, 10, 6],
    ]);
  });

  it('keeps a bounded trace of the readings around a long incident, its extreme included', () => {
    const out: SeriesIncident[] = [];
    const b = new IncidentBuilder(1, 30, (inc) => out.push(inc));
    for (let i = 0; i < 20_000; i++) {
      const value = i === 9_999 ? 1000 : Math.sin(i);
      b.add(i * MIN, value, i >= 100 && i < 19_000 ? flag(value) : normal, true);
    }
    b.finish();
    expect(out).toHaveLength(1);
    expect(out[0]!.trace.length).toBeLessThanOrEqual(256);
    expect(out[0]!.trace.length).toBeGreaterThan(64);
    expect(out[0]!.trace).toContain(1000);
  });

  it('records whether it was detected in the range or in the history before it', () => {
    const inc = build(30, (i) => (i === 5 || i === 20 ? 1 : null), 3, 10);
    expect(inc.map((i) => i.detectedInRange)).toEqual([false, true]);
  });
});

describe('reportIncidents', () => {
  const series = new Map<number, SeriesKey>([
    [1, { device: 'pump-1', metric: 'flow', unit: 'l/min' }],
    [2, { device: 'pump-1', metric: 'pressure', unit: 'bar' }],
    [3, { device: 'pump-0', metric: 'flow', unit: 'l/min' }],
  ]);
  const inc = (seriesId: number, start: number, end: number, score: number): SeriesIncident => ({
    seriesId,
    start: start * MIN,
    end: end * MIN,
    detected: start * MIN,
    detectedInRange: true,
    peakTime: end * MIN,
    peakValue: score * 10,
    score,
    readings: end - start + 1,
    kinds: new Set(['level']),
    ongoing: false,
    trace: [score],
    cadenceMs: MIN,
  });
  // pump-1: flow 10..20 and pressure 25..30 (5 minutes later: within closeAfter = 10 readings), flow 60..61.
  const all = [inc(1, 10, 20, 4), inc(2, 25, 30, -9), inc(1, 60, 61, 7), inc(3, 0, 1, 3)];

  it('--group device merges what overlaps within closeAfter readings; the peak is the largest |score|', () => {
    const out = reportIncidents(all, series, { byDevice: true, closeAfter: 10 });
    expect(out.map((i) => [i.device, i.metrics, i.start / MIN, i.end / MIN, i.readings])).toEqual([
      ['pump-1', ['flow', 'pressure'], 10, 30, 17],
      ['pump-1', ['flow'], 60, 61, 2],
      ['pump-0', ['flow'], 0, 1, 2],
    ]);
    expect(out[0]).toMatchObject({
      peakMetric: 'pressure',
      peakValue: -90,
      score: -9,
      unit: 'bar',
      trace: [-9],
    });
  });

  it('--group series keeps one incident per series', () => {
    const out = reportIncidents(all, series, { byDevice: false, closeAfter: 10 });
    expect(out.map((i) => [i.device, i.metrics[0], i.start / MIN])).toEqual([
      ['pump-1', 'flow', 10],
      ['pump-1', 'pressure', 25],
      ['pump-1', 'flow', 60],
      ['pump-0', 'flow', 0],
    ]);
  });
});
