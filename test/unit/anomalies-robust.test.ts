// The default method on labelled synthetic series at the cadences sensors report at: every fault found
// where it starts, nothing on a clean daily cycle or across a dropout. Also its rolling window.
import { describe, expect, it } from 'vitest';
import { IncidentBuilder, type SeriesIncident } from '../../src/anomalies/incidents.js';
import { robust } from '../../src/anomalies/methods/robust.js';
import { SortedWindow } from '../../src/anomalies/window.js';

const DAY = 86_400_000;
const N = 3000;
/** Where each fault starts, after 2000 readings of normal behaviour. */
const F = 2000;

/** A deterministic normal(0, 1) stream (Park-Miller and Box-Muller). */
function normals(seed: number): () => number {
  let s = seed;
  const uniform = () => (s = (s * 16807) % 2147483647) / 2147483647;
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** A daily cycle of amplitude 2 around 20, noise 0.2, one reading every `step` ms. */
function series(step: number, seed: number): { times: number[]; values: number[] } {
  const noise = normals(seed);
  const times = Array.from({ length: N }, (_, i) => i * step);
  return { times, values: times.map((t) => 20 + 2 * Math.sin((2 * Math.PI * t) / DAY) + 0.2 * noise()) };
}

const faults: Record<string, (v: number, i: number, values: number[]) => number> = {
  spike: (v, i) => (i === F ? v + 10 : v),
  shift: (v, i) => (i >= F ? v + 15 : v),
  drift: (v, i) => (i >= F ? v + 0.5 * (i - F) : v),
  stuck: (v, i, values) => (i >= F && i < F + 120 ? (values[F] as number) : v),
};

function incidents(times: number[], values: number[]): SeriesIncident[] {
  const scorer = robust.scorer({ window: 300, threshold: 6, minPoints: 60 });
  const out: SeriesIncident[] = [];
  const b = new IncidentBuilder(1, 30, (inc) => out.push(inc));
  values.forEach((v, i) =>
    scorer.push(times[i] as number, v, true, (t, x, verdict) => b.add(t, x, verdict, true)),
  );
  b.finish();
  return out;
}

const cadences = { '1 s': 1000, '1 min': 60_000, '5 min': 300_000, '1 h': 3_600_000 };

describe.each(Object.entries(cadences))('robust at one reading every %s', (_label, step) => {
  const at = (inc: SeriesIncident) => [inc.start / step, inc.end / step];

  it.each([1, 2, 3])('finds nothing on a clean daily cycle (seed %i)', (seed) => {
    const { times, values } = series(step, seed);
    expect(incidents(times, values)).toEqual([]);
  });

  it('finds nothing across a dropout of 200 readings', () => {
    const { times, values } = series(step, 1);
    const keep = (_: number, i: number) => i < F || i >= F + 200;
    expect(incidents(times.filter(keep), values.filter(keep))).toEqual([]);
  });

  it.each(Object.keys(faults))('finds the %s as one incident where it starts', (fault) => {
    const { times, values } = series(step, 1);
    const found = incidents(
      times,
      values.map((v, i) => faults[fault]!(v, i, values)),
    );
    expect(found).toHaveLength(1);
    const [start] = at(found[0]!);
    // A drift is found once it has moved far enough; the others at their first reading.
    if (fault === 'drift') expect(start).toBeGreaterThanOrEqual(F);
    if (fault === 'drift') expect(start).toBeLessThan(F + 60);
    else expect(start).toBe(F);
    if (fault === 'spike') expect(found[0]!.peakTime / step).toBe(F);
    if (fault === 'stuck') {
      expect([...found[0]!.kinds]).toEqual(['stuck']);
      expect(at(found[0]!)).toEqual([F, F + 119]);
      expect(found[0]!.detected / step).toBe(F + 29);
    }
    if (fault === 'shift') expect(found[0]!.kinds.has('level')).toBe(true);
  });
});

describe('robust on a series of one value (never varied: not stuck, nothing to judge)', () => {
  it('finds nothing', () => {
    const times = Array.from({ length: 1000 }, (_, i) => i * 60_000);
    expect(
      incidents(
        times,
        times.map(() => 21.5),
      ),
    ).toEqual([]);
  });
});

describe('SortedWindow', () => {
  it('keeps the median and spread of the last n values exactly (against sorting the window)', () => {
    const noise = normals(3);
    for (const size of [1, 2, 3, 7, 50]) {
      const w = new SortedWindow(size);
      const last: number[] = [];
      for (let i = 0; i < 1500; i++) {
        // Quantised values half the time: ties and a zero MAD.
        const v = i % 2 ? Math.round(noise()) : noise() * 10;
        w.push(v);
        last.push(v);
        if (last.length > size) last.shift();
        const s = [...last].sort((a, b) => a - b);
        const n = s.length;
        const m = ((s[(n - 1) >> 1] as number) + (s[n >> 1] as number)) / 2;
        const dev = s.map((x) => Math.abs(x - m)).sort((a, b) => a - b);
        const spread = Math.max(
          1.4826 * (dev[n >> 1] as number),
          (1.2533 * dev.reduce((a, b) => a + b, 0)) / n,
        );
        expect(w.median()).toBeCloseTo(m, 12);
        expect(w.spread()).toBeCloseTo(spread, 9);
      }
      w.clear();
      expect([w.length, w.spread()]).toEqual([0, 0]);
    }
  });
});
