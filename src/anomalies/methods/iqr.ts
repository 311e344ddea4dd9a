// iqr: outside Tukey's fences Q1 - k·IQR and Q3 + k·IQR of the range.
import { minPointsFlag } from '../flags.js';
import { defineMethod, required } from '../method.js';
import { RangeBuffer, quantile } from '../range-buffer.js';

export const iqr = defineMethod({
  name: 'iqr',
  summary: "outside Tukey's fences of the range",
  flags: [
    {
      key: 'k',
      flags: '--k <n>',
      help: 'fences at Q1 - k·IQR and Q3 + k·IQR',
      kind: 'number',
      default: 1.5,
      check: (v) => (v < 0 ? '--k must be 0 or more' : undefined),
    },
    minPointsFlag,
  ],
  scorer(p) {
    const k = required(p.k, 'k');
    const held = new RangeBuffer();
    return {
      push: (time, value, inRange) => {
        if (inRange) held.push(time, value);
      },
      finish(emit) {
        const sorted = held.sortedValues();
        const [q1, q2, q3] = [0.25, 0.5, 0.75].map((f) => quantile(sorted, f)) as [number, number, number];
        const iqrWidth = q3 - q1;
        const judged = held.length >= p.minPoints && iqrWidth > 0;
        held.forEach((time, value) => {
          const score = !judged
            ? null
            : value > q3
              ? (value - q3) / iqrWidth
              : value < q1
                ? (value - q1) / iqrWidth
                : 0;
          const flagged = judged && (value < q1 - k * iqrWidth || value > q3 + k * iqrWidth);
          emit(time, value, { flagged, score, baseline: q2, kind: 'outlier' }, true);
        });
      },
    };
  },
});
