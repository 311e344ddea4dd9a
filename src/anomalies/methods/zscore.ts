// zscore: distance from the mean of the trailing --baseline window, in sample standard deviations.
import { minPointsFlag, thresholdFlag } from '../flags.js';
import { defineMethod, required, type Emit } from '../method.js';
import { Ring } from '../ring.js';

export const zscore = defineMethod({
  name: 'zscore',
  summary: 'distance from the trailing mean in standard deviations',
  flags: [
    {
      key: 'baseline',
      flags: '--baseline <duration>',
      help: 'trailing window the mean and spread come from',
      kind: 'duration',
      default: '24h',
    },
    thresholdFlag(3),
    minPointsFlag,
  ],
  lookback: (p) => ({ ms: required(p.baseline, 'baseline').ms }),
  scorer(p) {
    const span = required(p.baseline, 'baseline').ms;
    const threshold = required(p.threshold, 'threshold');
    const times = new Ring();
    const values = new Ring();
    // Sums of (value - ref): near zero for a steady series, so the variance keeps its digits.
    let ref = NaN;
    let s = 0;
    let ss = 0;
    let evicted = 0;
    const resum = () => {
      s = 0;
      ss = 0;
      for (let i = 0; i < values.length; i++) {
        const d = values.at(i) - ref;
        s += d;
        ss += d * d;
      }
    };
    return {
      push(time: number, value: number, inRange: boolean, emit: Emit) {
        if (Number.isNaN(ref)) ref = value;
        // The window is [time - baseline, time), the reading itself excluded (as PostgreSQL's RANGE frame).
        while (times.length && times.at(0) < time - span) {
          const d = values.at(0) - ref;
          s -= d;
          ss -= d * d;
          times.shift();
          values.shift();
          if (++evicted % 4096 === 0) resum();
        }
        const n = values.length;
        if (n > 0) {
          const mean = s / n;
          let variance = n > 1 ? Math.max(0, (ss - (s * s) / n) / (n - 1)) : 0;
          // What rounding leaves of a constant window is not spread: PostgreSQL's numeric sums give 0.
          if (variance <= 1e-13 * (ss / n)) variance = 0;
          const sd = Math.sqrt(variance);
          const judged = n >= p.minPoints && sd > 0;
          const score = judged ? (value - ref - mean) / sd : null;
          emit(
            time,
            value,
            {
              flagged: score !== null && Math.abs(score) > threshold,
              score,
              baseline: ref + mean,
              kind: 'outlier',
            },
            inRange,
          );
        } else {
          emit(time, value, { flagged: false, score: null, baseline: null }, inRange);
        }
        const d = value - ref;
        s += d;
        ss += d * d;
        times.push(time);
        values.push(value);
      },
    };
  },
});
