// mad: robust z-score against the median of the range, in units of 1.4826 · MAD.
import { minPointsFlag, thresholdFlag } from '../flags.js';
import { defineMethod, required } from '../method.js';
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
        const sorted = held.sortedValues();
        const med = quantile(sorted, 0.5);
        const dev = sorted.map((v) => Math.abs(v - med)).sort();
        const spread = 1.4826 * quantile(dev, 0.5);
        const judged = held.length >= p.minPoints && spread > 0;
        held.forEach((time, value) => {
          const score = judged ? (value - med) / spread : null;
          const flagged = score !== null && Math.abs(score) > threshold;
          emit(time, value, { flagged, score, baseline: med, kind: 'outlier' }, true);
        });
      },
    };
  },
});
