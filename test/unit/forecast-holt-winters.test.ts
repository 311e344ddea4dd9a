// Holt-Winters on synthetic series: a daily cycle with trend and small noise is forecast within a stated
// error, its intervals cover about their share, and the season chosen from the data is the day.
import { describe, expect, it } from 'vitest';
import {
  chooseSeason,
  fitHoltWinters,
  forecastHoltWinters,
  nelderMead,
  seasonalNaiveMae,
} from '../../src/forecast/holt-winters.js';
import { everyFor, seasonPeriods, validateForecast } from '../../src/query/forecast.js';
import { parseDuration } from '../../src/util/duration.js';

/** A deterministic normal(0, 1) stream (Park-Miller and Box-Muller). */
function normals(seed: number): () => number {
  let s = seed;
  const uniform = () => (s = (s * 16807) % 2147483647) / 2147483647;
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Hourly: 20 + 0.02/h trend + a daily swing of ±5, noise sd 0.3. */
const truth = (t: number) => 20 + 0.02 * t + 5 * Math.sin((2 * Math.PI * t) / 24);
const NOISE = 0.3;
function hourly(n: number, seed: number): { y: Float64Array; next: (t: number) => number } {
  const noise = normals(seed);
  const y = Float64Array.from({ length: n }, (_, t) => truth(t) + NOISE * noise());
  return { y, next: (t) => truth(t) + NOISE * noise() };
}

describe('Holt-Winters (additive, damped trend)', () => {
  it('forecasts 48 h of a daily cycle with trend within 0.5 (MAE against the true curve: 1.7 noise sd)', () => {
    // Documented bound (README): over 14 days of history, the 48-hour forecast's mean absolute error
    // against the noise-free curve stays under 0.5, a tenth of the daily swing, on each of 5 seeds.
    for (const seed of [1, 2, 3, 4, 5]) {
      const n = 14 * 24;
      const { y } = hourly(n, seed);
      const fit = fitHoltWinters(y, 24);
      const fc = forecastHoltWinters(fit, 48);
      const mae = fc.reduce((s, p, h) => s + Math.abs(p.forecast - truth(n + h)), 0) / fc.length;
      expect(mae, `seed ${seed}`).toBeLessThan(0.5);
      // The one-step residual spread is the noise's.
      expect(Math.sqrt(fit.sigma2)).toBeGreaterThan(0.8 * NOISE);
      expect(Math.sqrt(fit.sigma2)).toBeLessThan(1.3 * NOISE);
      for (const v of Object.values(fit.params)) expect(v).toBeGreaterThanOrEqual(0);
      expect(fit.params.alpha).toBeLessThanOrEqual(1);
    }
  });

  it('its 80% and 95% intervals cover about 80% and 95% of new readings, and widen with the horizon', () => {
    let in80 = 0;
    let in95 = 0;
    let total = 0;
    for (let seed = 10; seed < 30; seed++) {
      const n = 14 * 24;
      const { y, next } = hourly(n, seed);
      const fc = forecastHoltWinters(fitHoltWinters(y, 24), 24);
      fc.forEach((p, h) => {
        const actual = next(n + h);
        if (actual >= p.lo80 && actual <= p.hi80) in80++;
        if (actual >= p.lo95 && actual <= p.hi95) in95++;
        total++;
      });
      expect(fc[23]!.hi95 - fc[23]!.lo95).toBeGreaterThan(fc[0]!.hi95 - fc[0]!.lo95);
      expect(fc[0]!.lo95).toBeLessThan(fc[0]!.lo80);
    }
    expect(in80 / total).toBeGreaterThan(0.7);
    expect(in80 / total).toBeLessThan(0.92);
    expect(in95 / total).toBeGreaterThan(0.88);
  });

  it('fills missing buckets by its own estimate: a series with holes forecasts as well', () => {
    const n = 14 * 24;
    const { y } = hourly(n, 7);
    for (let t = 100; t < 130; t++) y[t] = NaN;
    for (let t = 200; t < n; t += 7) y[t] = NaN;
    const fit = fitHoltWinters(y, 24);
    const fc = forecastHoltWinters(fit, 24);
    const mae = fc.reduce((s, p, h) => s + Math.abs(p.forecast - truth(n + h)), 0) / fc.length;
    expect(mae).toBeLessThan(0.5);
    expect(fit.n).toBe(n - 30 - Math.ceil((n - 200) / 7));
  });

  it('finds the season of hourly data with a daily cycle: 24, not none and not 168', () => {
    const { y } = hourly(8 * 7 * 24, 3);
    const chosen = chooseSeason(y, seasonPeriods(parseDuration('1h'), undefined));
    expect(chosen?.tried.map((f) => f.period)).toEqual([1, 24, 168]);
    expect(chosen?.best.period).toBe(24);
  });

  it('chooses no season for a series without one (a random walk)', () => {
    const noise = normals(5);
    let v = 0;
    const y = Float64Array.from({ length: 30 * 24 }, () => (v += noise()));
    expect(chooseSeason(y, [1, 24])?.best.period).toBe(1);
  });

  it('skips a season the history is too short for, and gives null when every one is', () => {
    const { y } = hourly(24 * 5, 1);
    expect(chooseSeason(y, [1, 24, 168])?.tried.map((f) => f.period)).toEqual([1, 24]);
    expect(chooseSeason(y.slice(0, 40), [24])).toBeNull();
  });

  it('seasonalNaiveMae is the mean |y[t] - y[t-m]| over the pairs both known', () => {
    expect(seasonalNaiveMae([1, 2, 4, 8, NaN, 1], 2)).toBeCloseTo((3 + 6 + 7) / 3, 12);
  });

  it('nelderMead finds the minimum of a quadratic bowl', () => {
    const x = nelderMead((p) => (p[0]! - 1) ** 2 + 3 * (p[1]! + 2) ** 2, [0, 0]);
    expect(x[0]).toBeCloseTo(1, 3);
    expect(x[1]).toBeCloseTo(-2, 3);
  });
});

describe('forecast options', () => {
  const d = (t: string) => parseDuration(t);
  it('chooses the bucket width from the horizon', () => {
    expect([d('1h'), d('6h'), d('24h'), d('7d'), d('30d')].map((h) => everyFor(h).text)).toEqual([
      '5m',
      '5m',
      '1h',
      '1h',
      '1d',
    ]);
  });
  it('tries the seasons that are whole numbers of 2 to 1000 buckets', () => {
    expect(seasonPeriods(d('5m'), undefined)).toEqual([1, 288]);
    expect(seasonPeriods(d('15m'), undefined)).toEqual([1, 96, 672]);
    expect(seasonPeriods(d('1d'), undefined)).toEqual([1, 7]);
    expect(seasonPeriods(d('1h'), null)).toEqual([1]);
    expect(seasonPeriods(d('1h'), d('12h'))).toEqual([12]);
  });
  it.each([
    [{ horizon: d('30m'), every: d('1h') }, /shorter than one bucket/],
    [{ horizon: d('24h'), season: d('90m') }, /whole number of at least 2 buckets of --every 1h/],
    [{ horizon: d('24h'), season: d('1h') }, /at least 2 buckets/],
    [{ horizon: d('1000d'), every: d('1m') }, /at most 10000/],
  ])('refuses %o', (o, message) => {
    expect(() => validateForecast({ filter: { metric: 'm' }, ...o })).toThrow(message);
  });
});
