// Every method's flagged readings and incidents on a generated set of series (cadences from 1 s to 1 h,
// spikes, shifts, drift, stuck runs, dropouts, quantised and heavy-tailed values, history before --since)
// against a reference recorded from the scorers before their speed work: faster scoring must not change
// what is found. WRITE_ANOMALY_REFERENCE=1 records it again (only for a change that means to alter results).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withDefaults, type AnomaliesOptions } from '../../src/anomalies/detect.js';
import { IncidentBuilder, reportIncidents, type SeriesIncident } from '../../src/anomalies/incidents.js';
import type { AnomalyParams, Verdict } from '../../src/anomalies/method.js';
import { anomalyMethod, type AnomalyMethodName } from '../../src/anomalies/methods/index.js';
import { parseDuration } from '../../src/util/duration.js';

const FIXTURE = path.resolve(import.meta.dirname, '../../fixtures/anomalies/scoring-reference.json');
const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const DAY = 86_400_000;

/** A deterministic uniform [0, 1) stream (mulberry32). */
function uniforms(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(u: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

interface Series {
  name: string;
  times: number[];
  values: number[];
}

/** n readings `step` apart (with `jitter`, a fraction of step either way), `value(i, t)`; `drop` skips readings. */
function make(
  name: string,
  n: number,
  step: number,
  value: (i: number, t: number) => number,
  opts: { jitter?: number; drop?: (i: number) => boolean; seed?: number } = {},
): Series {
  const u = uniforms(opts.seed ?? 7);
  const times: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    if (opts.drop?.(i)) continue;
    const t = T0 + i * step + Math.round((opts.jitter ?? 0) * step * (u() - 0.5));
    times.push(t);
    values.push(value(i, t));
  }
  return { name, times, values };
}

function seriesSet(): Series[] {
  const g = gaussian(uniforms(1));
  const daily = (t: number) => 20 + 2 * Math.sin((2 * Math.PI * t) / DAY);
  const h = gaussian(uniforms(2));
  const heavy = uniforms(3);
  const q = gaussian(uniforms(4));
  const w = gaussian(uniforms(5));
  return [
    make('5min-cycle-spike-shift', 4200, 5 * MIN, (i, t) => {
      const v = daily(t) + 0.2 * g();
      return i === 2500 ? v + 8 : i >= 3300 ? v + 3 : v;
    }),
    make('1s-quantised-drift', 5000, 1000, (i) =>
      Math.round(32 + 0.6 * q() + (i > 3500 ? (i - 3500) * 0.004 : 0)),
    ),
    make(
      '1min-stuck-dropout',
      4500,
      MIN,
      (i, t) => (i >= 3000 && i < 3250 ? 17.25 : 18 + Math.sin(t / 3_000_000) + 0.1 * h()),
      { drop: (i) => i >= 1500 && i < 1900 },
    ),
    make('1h-jittered', 3000, 60 * MIN, (_i, t) => daily(t) * 10 + w(), { jitter: 0.3 }),
    make('constant-then-step', 2000, 10_000, (i) => (i < 1200 ? 5 : i < 1210 ? 9 : 5)),
    make('heavy-tailed', 4000, 2 * MIN, (i) => {
      const r = heavy();
      return (
        100 +
        (r < 0.01 ? 40 * (heavy() - 0.5) : r < 0.05 ? 4 * (heavy() - 0.5) : 0.5 * (heavy() - 0.5)) +
        (i % 97 === 0 ? 7 : 0)
      );
    }),
    make('large-offset', 3000, 30_000, (i) => 1e6 + 0.01 * g() + (i === 2000 ? 0.2 : 0)),
    make('irregular-gaps', 3000, MIN, (i) => 50 + 3 * Math.sin(i / 40) + 0.3 * g(), {
      jitter: 0.9,
      drop: (i) => i % 500 > 470 || (i > 2000 && i % 7 === 0),
    }),
  ];
}

const cases: Array<{ label: string; method: AnomalyMethodName; params: Partial<AnomalyParams> }> = [
  { label: 'robust', method: 'robust', params: {} },
  { label: 'robust --window 40 --min-points 20', method: 'robust', params: { window: 40, minPoints: 20 } },
  { label: 'robust --season 1d', method: 'robust', params: { season: parseDuration('1d') } },
  { label: 'zscore --baseline 6h', method: 'zscore', params: { baseline: parseDuration('6h') } },
  { label: 'zscore', method: 'zscore', params: {} },
  { label: 'mad', method: 'mad', params: {} },
  { label: 'mad --threshold 2', method: 'mad', params: { threshold: 2 } },
  { label: 'iqr', method: 'iqr', params: {} },
  { label: 'iqr --k 0.5', method: 'iqr', params: { k: 0.5 } },
  { label: 'roc --max-step 6', method: 'roc', params: { maxStep: 6 } },
  { label: 'range --min -1000 --max 1000000.02', method: 'range', params: { min: -1000, max: 1000000.02 } },
];

/** Readings before this fraction of each series are history (before --since). */
const HISTORY = 0.15;

type Flagged = [
  index: number,
  score: number | null,
  baseline: number | null,
  kind: string | null,
  onset: number | null,
];

interface Outcome {
  flagged: Record<string, Flagged[]>;
  incidents: unknown[];
}

function run(c: (typeof cases)[number], set: Series[]): Outcome {
  const m = anomalyMethod(c.method);
  const opts: AnomaliesOptions = {
    method: c.method,
    filter: {},
    range: { since: new Date(0), until: new Date(0) },
    ...c.params,
  };
  const o = withDefaults(m, opts);
  const flagged: Record<string, Flagged[]> = {};
  const closed: SeriesIncident[] = [];
  const keys = new Map<number, { device: string; metric: string; unit: null }>();
  set.forEach((s, id) => {
    keys.set(id, { device: s.name, metric: 'value', unit: null });
    const since = s.times[Math.floor(HISTORY * s.times.length)] as number;
    const index = new Map(s.times.map((t, i) => [t, i]));
    const out: Flagged[] = (flagged[s.name] = []);
    const b = new IncidentBuilder(id, 30, (inc) => closed.push(inc));
    const scorer = m.scorer(o);
    const emit = (time: number, value: number, v: Verdict, inRange: boolean) => {
      b.add(time, value, v, inRange);
      if (v.flagged && inRange)
        out.push([index.get(time) as number, v.score, v.baseline, v.kind ?? null, v.onset?.time ?? null]);
    };
    for (let i = 0; i < s.times.length; i++) {
      const t = s.times[i] as number;
      scorer.push(t, s.values[i] as number, t >= since, emit);
    }
    scorer.finish?.(emit);
    b.finish();
  });
  // A trace is kept as its length and sum (its values are the readings themselves).
  const incidents = reportIncidents(closed, keys, { byDevice: false, closeAfter: 30 }).map((i) => ({
    ...i,
    trace: [i.trace.length, i.trace.reduce((a, b) => a + b, 0)],
  }));
  return { flagged, incidents: JSON.parse(JSON.stringify(incidents)) as unknown[] };
}

/** Equal, numbers within 1e-9 relative (scores may differ in their last bits, nothing else). */
function close(actual: unknown, expected: unknown, where: string): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    const tol = 1e-9 * Math.max(1, Math.abs(expected));
    if (!(Math.abs(actual - expected) <= tol)) expect.fail(`${where}: ${actual} is not ${expected}`);
    return;
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (actual.length !== expected.length)
      expect.fail(`${where}: ${actual.length} entries, not ${expected.length}`);
    expected.forEach((e, i) => close(actual[i], e, `${where}[${i}]`));
    return;
  }
  if (expected && typeof expected === 'object' && actual && typeof actual === 'object') {
    const keys = Object.keys(expected);
    expect(Object.keys(actual).sort(), where).toEqual(keys.sort());
    for (const k of keys)
      close(
        (actual as Record<string, unknown>)[k],
        (expected as Record<string, unknown>)[k],
        `${where}.${k}`,
      );
    return;
  }
  expect(actual, where).toEqual(expected);
}

const set = seriesSet();

if (process.env.WRITE_ANOMALY_REFERENCE === '1') {
  const all = Object.fromEntries(cases.map((c) => [c.label, run(c, set)]));
  fs.mkdirSync(path.dirname(FIXTURE), { recursive: true });
  fs.writeFileSync(FIXTURE, JSON.stringify(all) + '\n');
}

const reference = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as Record<string, Outcome>;

describe('anomaly scoring against the recorded reference', () => {
  it('covers every case, and each case flags something somewhere', () => {
    expect(Object.keys(reference).sort()).toEqual(cases.map((c) => c.label).sort());
    for (const c of cases) {
      const n = Object.values(reference[c.label]?.flagged ?? {}).reduce((a, f) => a + f.length, 0);
      expect(n, c.label).toBeGreaterThan(0);
    }
  });

  it.each(cases.map((c) => [c.label, c] as const))('%s flags the same readings and incidents', (label, c) => {
    const got = run(c, set);
    const want = reference[label] as Outcome;
    for (const s of set) close(got.flagged[s.name], want.flagged[s.name], `${label} ${s.name}`);
    close(got.incidents, want.incidents, `${label} incidents`);
  });
});
