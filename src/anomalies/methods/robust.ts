// robust (the default): a trailing median baseline sized in readings, with detectors for the faults
// sensors have: a spike, a level shift or drift, a stuck sensor.
//
// Per reading, against the last `window` normal readings of the series (not a fixed duration, so the
// same default fits a reading a second and a reading an hour):
// - level: the series smoothed over window/10 readings (exponential average), as a robust z-score
//   against the smoothed series' own recent values. Smoothing makes a sustained shift of a fraction of
//   the noise stand out; scoring it against its own history keeps slowly wandering series (temperatures)
//   from alarming on every swing. Flagged above --threshold (6); once flagged, until it falls below 5/6
//   of it.
// - spike: the reading minus what the 5 before it predict (their median, moved on by their median
//   step, so a daily cycle or a trend cancels out and one outlier among them does not count), as a
//   robust z-score against the recent such residuals; flagged above 2 × --threshold. Not judged for
//   5 readings after a gap of more than 3 typical intervals.
// - stuck: the same value more times in a row than max(30, 3 × the longest run seen before), once the
//   series has changed value at least once (a series that never varied has no usual to compare with).
// While an incident is open the baseline keeps its pre-incident readings, so the incident lasts until
// the series is back to normal; after 1.5 × window readings the baseline accepts the new level.
// A baseline that has seen nothing for a while is stale: after a gap longer than half the window (in
// typical intervals between readings), or when a stuck run ends, the scorer starts afresh (and judges
// again once it has --min-points readings), rather than judge the series against how it was before.
// Spreads are max(1.4826 · MAD, 1.2533 · mean absolute deviation) (see ../window.ts).
//
// --season 1d (or 7d, or any whole number of hours up to 28d): the spike and level detectors judge each
// reading's difference from a seasonal profile (../seasonal.ts: the median over the last --seasons seasons
// of the same hour's average) instead of the reading itself, so a daily swing is no anomaly and a reading
// usual for the series but not for the hour is. The profile starts from the hourly averages before --since
// (read through query agg's planner: from rollup_1h, and finer rollups or readings where it does not
// answer exactly) and
// learns each hour as it ends. Until the hour is known (MIN_SEASONS seasons of it), the reading is judged
// as without --season; the baseline starts afresh when the profile becomes known. The stuck detector
// always judges the readings themselves.
import { usageError } from '../../errors.js';
import { minPointsFlag, thresholdFlag } from '../flags.js';
import { defineMethod, required, type Emit, type Verdict } from '../method.js';
import { select } from '../range-buffer.js';
import { MIN_SEASONS, SLOT_MS, SeasonalProfile } from '../seasonal.js';
import { SortedWindow } from '../window.js';

const SEASONS = 8;
const MAX_SEASON_MS = 28 * 86_400_000;

/** Readings an incident stays open without a flagged one (the scorer freezes its baseline meanwhile). */
export const CLOSE_AFTER = 30;
const LOCAL = 5;
const STUCK_MIN = 30;

const median4 = (a: number, b: number, c: number, d: number) =>
  (a + b + c + d - Math.min(a, b, c, d) - Math.max(a, b, c, d)) / 2;

/** The median of five values in six comparisons (drop the lowest of four twice, then take the lower). */
function median5(a: number, b: number, c: number, d: number, e: number): number {
  let t: number;
  if (a > b) {
    t = a;
    a = b;
    b = t;
  }
  if (c > d) {
    t = c;
    c = d;
    d = t;
  }
  if (a > c) {
    t = c;
    c = a;
    a = t;
    t = b;
    b = d;
    d = t;
  }
  a = e;
  if (a > b) {
    t = a;
    a = b;
    b = t;
  }
  if (a > c) {
    t = c;
    c = a;
    a = t;
    b = d;
  }
  return Math.min(b, c);
}

export const robust = defineMethod({
  name: 'robust',
  summary: 'spikes, level shifts and drift, stuck sensors against a trailing median (the default)',
  flags: [
    {
      key: 'window',
      flags: '--window <n>',
      help: 'trailing baseline, in readings',
      kind: 'int',
      min: 20,
      default: 300,
      check: (v) => (Number.isInteger(v) && v >= 20 ? undefined : '--window must be a whole number >= 20'),
    },
    thresholdFlag(6),
    { ...minPointsFlag, default: 60 },
    {
      key: 'season',
      flags: '--season <duration>',
      help: 'judge each reading against the same hour of a season: 1d (hour of the day), 7d (of the week)',
      kind: 'duration',
      exclusive: true,
    },
    {
      key: 'seasons',
      flags: '--seasons <n>',
      help: `seasons of history the --season profile holds (default ${SEASONS})`,
      kind: 'int',
      min: MIN_SEASONS,
      exclusive: true,
    },
  ],
  validate(p) {
    const season = p.season;
    if (p.seasons !== undefined && !season) throw usageError('--seasons needs --season');
    if (!season) return;
    if (season.ms % SLOT_MS !== 0 || season.ms < 2 * SLOT_MS || season.ms > MAX_SEASON_MS)
      throw usageError(
        `--season must be a whole number of hours from 2h to 28d, not ${season.text}`,
        'use 1d for the hour of the day, 7d for the hour of the week',
      );
    if (p.seasons !== undefined && !(Number.isInteger(p.seasons) && p.seasons >= MIN_SEASONS))
      throw usageError(`--seasons must be a whole number >= ${MIN_SEASONS}`);
  },
  lookback: (p) => ({ readings: required(p.window, 'window') }),
  hourlyHistory: (p) => (p.season ? p.season.ms * (p.seasons ?? SEASONS) : undefined),
  scorer(p, hourly) {
    const size = required(p.window, 'window');
    const profile = p.season ? new SeasonalProfile(p.season.ms, p.seasons ?? SEASONS) : null;
    if (profile && hourly)
      for (let i = 0; i < hourly.times.length; i++)
        profile.addHour(hourly.times[i] as number, hourly.values[i] as number);
    /** Whether the readings judged so far were differences from the profile. */
    let seasonal = false;
    const threshold = required(p.threshold, 'threshold');
    const alpha = 2 / (Math.max(2, Math.round(size / 10)) + 1);
    const maxFrozen = Math.round(1.5 * size);
    const smoothed = new SortedWindow(size);
    const residuals = new SortedWindow(size);
    const recent = new Float64Array(LOCAL);
    let seen = 0;
    let y = NaN;
    let open = false;
    let quiet = 0;
    let frozen = 0;
    let prev = NaN;
    let run = 0;
    let runStart = 0;
    let longest = 0;
    let wasStuck = false;
    let lastTime = NaN;
    const gaps = new Float64Array(32);
    const gapWork = new Float64Array(32);
    let nGaps = 0;
    let cadence = NaN;
    const restart = () => {
      smoothed.clear();
      residuals.clear();
      seen = 0;
      y = NaN;
      open = false;
      quiet = frozen = 0;
      wasStuck = false;
    };
    /** The median of the last 5 readings moved on by their median step (one outlier moves neither). */
    const predicted = () => {
      const a = recent[(seen - 5) % 5] as number;
      const b = recent[(seen - 4) % 5] as number;
      const c = recent[(seen - 3) % 5] as number;
      const d = recent[(seen - 2) % 5] as number;
      const e = recent[(seen - 1) % 5] as number;
      return median5(a, b, c, d, e) + 3 * median4(b - a, c - b, d - c, e - d);
    };
    const tiny = (m: number) => 1e-9 * Math.max(1, Math.abs(m));
    // One verdict object reused for every reading: consumers copy what they keep.
    const verdict: Verdict = { flagged: false, score: null, baseline: null };
    const onset = { time: 0, readings: 0 };
    return {
      push(time: number, value: number, inRange: boolean, emit: Emit) {
        const gap = time - lastTime;
        lastTime = time;
        if (gap > (size / 2) * cadence) restart();
        // The readings before a gap do not predict the one after it.
        else if (gap > 3 * cadence) seen = 0;
        if (gap > 0) {
          gaps[nGaps++ % gaps.length] = gap;
          // The typical interval: the median of the last 32, re-estimated every 16 readings.
          if (nGaps % 16 === 0 || Number.isNaN(cadence)) {
            const k = Math.min(nGaps, gaps.length);
            gapWork.set(gaps);
            cadence = select(gapWork, k >> 1, k);
          }
        }
        if (value === prev) run++;
        else {
          if (run > longest) longest = run;
          run = 1;
          runStart = time;
          // The stuck readings said nothing: judge what follows against a fresh baseline.
          if (wasStuck) restart();
        }
        prev = value;
        // With --season the detectors see the difference from what the hour usually holds.
        let x = value;
        let expected = 0;
        if (profile) {
          profile.add(time, value);
          const e = profile.expected(time);
          const known = !Number.isNaN(e);
          if (known !== seasonal) {
            restart();
            seasonal = known;
          }
          if (known) {
            expected = e;
            x = value - e;
          }
        }
        y = Number.isNaN(y) ? x : y + alpha * (x - y);
        verdict.flagged = false;
        verdict.score = verdict.baseline = null;
        verdict.kind = verdict.onset = undefined;
        const local = seen >= LOCAL ? x - predicted() : NaN;
        if (smoothed.length >= p.minPoints) {
          const m = smoothed.median();
          const level = (y - smoothed.median()) / Math.max(smoothed.spread(), tiny(y));
          const spike = Number.isNaN(local)
            ? 0
            : (local - residuals.median()) / Math.max(residuals.spread(), tiny(m));
          const stuck = longest > 0 && run >= Math.max(STUCK_MIN, 3 * longest);
          const spikeHit = Math.abs(spike) > 2 * threshold;
          const levelHit = Math.abs(level) > (open ? (5 / 6) * threshold : threshold);
          verdict.baseline = m + expected;
          if (stuck) {
            verdict.flagged = true;
            verdict.score = run / Math.max(1, longest);
            verdict.kind = 'stuck';
            onset.time = runStart;
            onset.readings = run - 1;
            verdict.onset = onset;
          } else if (spikeHit && (!levelHit || Math.abs(spike) / 2 >= Math.abs(level))) {
            verdict.flagged = true;
            verdict.score = spike;
            verdict.kind = 'spike';
          } else {
            verdict.flagged = levelHit;
            verdict.score = level;
            verdict.kind = levelHit ? 'level' : undefined;
          }
        }
        emit(time, value, verdict, inRange);
        wasStuck = verdict.kind === 'stuck';
        if (verdict.flagged) {
          open = true;
          quiet = 0;
        } else if (open && ++quiet >= CLOSE_AFTER) open = false;
        // The baseline learns from normal readings only, unless an incident has held it too long.
        const learn = !open || ++frozen > maxFrozen;
        if (!open) frozen = 0;
        if (learn) {
          smoothed.push(y);
          if (!Number.isNaN(local)) residuals.push(local);
        }
        recent[seen % LOCAL] = x;
        seen++;
      },
    };
  },
});
