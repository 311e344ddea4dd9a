// mad: robust z-score against the median of the range, in units of 1.4826 · MAD.
import { minPointsFlag, thresholdFlag } from '../flags.js';
import { defineMethod, required, type Verdict } from '../method.js';
import { RangeBuffer, quantile } from '../range-buffer.js';

export const mad = defineMethod({
  name: 'mad',
  summary: 'robust z-score against the median of the range (1.4826 · MAD)',
  flags: [thresholdFlag(3.5), minPointsFlag],
  scorer(p) {
    const threshold = required(p.threshold, 'threshold');
    const held = new RangeBuffer();
    return {
      push: (time, value, inRange) => {
        if (inRange) held.push(time, value);
      },
      finish(emit) {
        const n = held.length;
        const work = held.valuesCopy();
        const med = quantile(work, 0.5);
        for (let i = 0; i < n; i++) work[i] = Math.abs((work[i] as number) - med);
        const spread = 1.4826 * quantile(work, 0.5);
        const judged = n >= p.minPoints && spread > 0;
        // One verdict object for every reading: consumers copy what they keep.
        const verdict: Verdict = { flagged: false, score: null, baseline: med, kind: 'outlier' };
        const { times, values } = held;
        for (let i = 0; i < n; i++) {
          const value = values[i] as number;
          const score = judged ? (value - med) / spread : null;
          verdict.score = score;
          verdict.flagged = score !== null && Math.abs(score) > threshold;
          emit(times[i] as number, value, verdict, true);
        }
      },
    };
  },
});
