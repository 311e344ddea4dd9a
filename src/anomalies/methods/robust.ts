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
import { minPointsFlag, thresholdFlag } from '../flags.js';
import { defineMethod, required, type Emit, type Verdict } from '../method.js';
import { SortedWindow } from '../window.js';

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
  ],
  lookback: (p) => ({ readings: required(p.window, 'window') }),
  scorer(p) {
    const size = required(p.window, 'window');
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
            const recentGaps = gaps.slice(0, Math.min(nGaps, gaps.length)).sort();
            cadence = recentGaps[recentGaps.length >> 1] as number;
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
        y = Number.isNaN(y) ? value : y + alpha * (value - y);
        verdict.flagged = false;
        verdict.score = verdict.baseline = null;
        verdict.kind = verdict.onset = undefined;
        const local = seen >= LOCAL ? value - predicted() : NaN;
        if (smoothed.length >= p.minPoints) {
          const m = smoothed.median();
          const level = (y - smoothed.median()) / Math.max(smoothed.spread(), tiny(y));
          const spike = Number.isNaN(local)
            ? 0
            : (local - residuals.median()) / Math.max(residuals.spread(), tiny(m));
          const stuck = longest > 0 && run >= Math.max(STUCK_MIN, 3 * longest);
          const spikeHit = Math.abs(spike) > 2 * threshold;
          const levelHit = Math.abs(level) > (open ? (5 / 6) * threshold : threshold);
          verdict.baseline = m;
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
        recent[seen % LOCAL] = value;
        seen++;
      },
    };
  },
});
