// robust --season: a seasonal profile (the median of each hour's average over the last seasons) and the
// faults only it can see, on labelled synthetic series: a night that stays as warm as the day.
import { describe, expect, it } from 'vitest';
import { IncidentBuilder, type SeriesIncident } from '../../src/anomalies/incidents.js';
import type { HourlyAverages } from '../../src/anomalies/method.js';
import { robust } from '../../src/anomalies/methods/robust.js';
import { SeasonalProfile, SLOT_MS } from '../../src/anomalies/seasonal.js';
import { parseDuration } from '../../src/util/duration.js';

const HOUR = SLOT_MS;
const DAY = 24 * HOUR;
const STEP = 10 * 60_000;

/** A deterministic normal(0, 1) stream (Park-Miller and Box-Muller). */
function normals(seed: number): () => number {
  let s = seed;
  const uniform = () => (s = (s * 16807) % 2147483647) / 2147483647;
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** 14 days of 10-minute readings: a daily cycle from 10 (midnight) to 30 (noon), noise 0.3. */
const cycle = (t: number) => 20 - 10 * Math.cos((2 * Math.PI * t) / DAY);
function days(n: number, seed: number, fault?: (t: number, v: number) => number) {
  const noise = normals(seed);
  const times = Array.from({ length: (n * DAY) / STEP }, (_, i) => i * STEP);
  const values = times.map((t) => {
    const v = cycle(t) + 0.3 * noise();
    return fault ? fault(t, v) : v;
  });
  return { times, values };
}

/**
 * The night from day 11 18:00 to day 12 06:00 cools half as much as the others (down to 15, not 10):
 * smoothly, every reading within the series' usual range, and no step anywhere.
 */
const warmNight = (t: number, v: number) =>
  t >= 11 * DAY + 18 * HOUR && t < 12 * DAY + 6 * HOUR ? v + 5 * Math.cos((2 * Math.PI * t) / DAY) : v;

function incidents(
  times: number[],
  values: number[],
  season?: string,
  hourly?: HourlyAverages,
  inRangeFrom = 0,
): SeriesIncident[] {
  const scorer = robust.scorer(
    { window: 300, threshold: 6, minPoints: 60, season: season ? parseDuration(season) : undefined },
    hourly,
  );
  const out: SeriesIncident[] = [];
  const b = new IncidentBuilder(1, 30, (inc) => out.push(inc));
  values.forEach((v, i) => {
    const t = times[i] as number;
    scorer.push(t, v, t >= inRangeFrom, (tt, x, verdict, inRange) => b.add(tt, x, verdict, inRange));
  });
  b.finish();
  return out;
}

describe('SeasonalProfile', () => {
  it('knows an hour once it has three seasons of it, as the median of its averages', () => {
    const p = new SeasonalProfile(DAY, 8);
    p.addHour(3 * HOUR, 10);
    p.addHour(DAY + 3 * HOUR, 100);
    expect(p.expected(3 * HOUR + 30 * 60_000)).toBeNaN();
    p.addHour(2 * DAY + 3 * HOUR, 12);
    // The middle of hour 3 is its own median; hours 2 and 4 are not known.
    expect(p.expected(3 * DAY + 3 * HOUR + 30 * 60_000)).toBe(12);
    expect(p.expected(3 * DAY + 3 * HOUR)).toBe(12);
    expect(p.expected(3 * DAY + 10 * HOUR)).toBeNaN();
  });

  it('interpolates between the midpoints of neighbouring hours, across midnight too', () => {
    const p = new SeasonalProfile(DAY, 3);
    for (let d = 0; d < 3; d++) {
      p.addHour(d * DAY + 23 * HOUR, 8);
      p.addHour(d * DAY, 10);
      p.addHour(d * DAY + HOUR, 20);
    }
    expect(p.expected(5 * DAY + HOUR)).toBe(15); // the edge between hours 0 and 1
    expect(p.expected(5 * DAY + 45 * 60_000)).toBe(12.5);
    expect(p.expected(5 * DAY)).toBe(9); // between 23:00 and 00:00
  });

  it('keeps the last seasons only, and never adds an hour it already has (rollups, then readings)', () => {
    const p = new SeasonalProfile(DAY, 3);
    for (let d = 0; d < 5; d++) p.addHour(d * DAY, d < 2 ? 1000 : 5);
    expect(p.expected(6 * DAY + 30 * 60_000)).toBe(5);
    // An average for a season it has: ignored, however different.
    p.addHour(4 * DAY, -1e6);
    expect(p.expected(6 * DAY + 30 * 60_000)).toBe(5);
    // Readings average into their hour, which joins once the next hour begins.
    for (let i = 0; i < 6; i++) p.add(5 * DAY + i * STEP, i % 2 ? 7 : 9);
    p.add(5 * DAY + HOUR, 0);
    expect(p.expected(7 * DAY + 30 * 60_000)).toBe(5); // 5, 5, 8
    for (let i = 0; i < 6; i++) p.add(6 * DAY + i * STEP, 8);
    p.add(6 * DAY + HOUR, 0);
    expect(p.expected(7 * DAY + 30 * 60_000)).toBe(8); // 5, 8, 8
  });

  it('a season of a week has 168 hours', () => {
    const p = new SeasonalProfile(7 * DAY, 3);
    for (let w = 0; w < 3; w++) p.addHour(w * 7 * DAY + 50 * HOUR, 42);
    expect(p.expected(10 * 7 * DAY + 50 * HOUR + 30 * 60_000)).toBe(42);
    expect(p.expected(10 * 7 * DAY + 26 * HOUR + 30 * 60_000)).toBeNaN();
  });
});

describe('robust --season 1d on a daily cycle', () => {
  it.each([1, 2, 3])('finds nothing on the clean cycle (seed %i)', (seed) => {
    const { times, values } = days(14, seed);
    expect(incidents(times, values, '1d')).toEqual([]);
  });

  it('finds the night that stayed warm, which robust without a season does not see', () => {
    const { times, values } = days(14, 1, warmNight);
    expect(incidents(times, values)).toEqual([]);
    const found = incidents(times, values, '1d');
    expect(found).toHaveLength(1);
    const [inc] = found as [SeriesIncident];
    // Found once the night has cooled 2-3 degrees less than usual (about 20:30); the level detector's
    // smoothing (30 readings, 5 hours) carries it a few hours past the morning.
    expect(inc.start).toBeGreaterThanOrEqual(11 * DAY + 18 * HOUR);
    expect(inc.start).toBeLessThan(11 * DAY + 22 * HOUR);
    expect(inc.end).toBeGreaterThan(12 * DAY + 2 * HOUR);
    expect(inc.end).toBeLessThan(12 * DAY + 12 * HOUR);
    expect([...inc.kinds]).toEqual(['level']);
  });

  it('starts from hourly averages before --since: a short range is judged against the whole profile', () => {
    const { times, values } = days(14, 1, warmNight);
    const since = 11 * DAY + 12 * HOUR;
    // The hourly averages of the 8 days before the hour of --since, as query agg gives them.
    const hourly: HourlyAverages = { times: [], values: [] };
    for (let h = since - 8 * DAY; h < since; h += HOUR) {
      const inHour = values.filter((_, i) => (times[i] as number) >= h && (times[i] as number) < h + HOUR);
      hourly.times.push(h);
      hourly.values.push(inHour.reduce((a, b) => a + b, 0) / inHour.length);
    }
    // Only the last 300 readings before --since are read (robust's lookback), as the command does.
    const from = times.findIndex((t) => t >= since) - 300;
    const found = incidents(times.slice(from), values.slice(from), '1d', hourly, since);
    expect(found).toHaveLength(1);
    expect((found[0] as SeriesIncident).start).toBeGreaterThanOrEqual(11 * DAY + 18 * HOUR);
    // Without the averages the profile has seen two days only: nothing is judged against it yet.
    expect(incidents(times.slice(from), values.slice(from), '1d', undefined, since)).toEqual([]);
  });
});
