// iqr: outside Tukey's fences Q1 - k·IQR and Q3 + k·IQR of the range.
import { minPointsFlag } from '../flags.js';
import { defineMethod, required, type Verdict } from '../method.js';
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
        const n = held.length;
        const work = held.valuesCopy();
        const q2 = quantile(work, 0.5);
        const q1 = quantile(work, 0.25);
        const q3 = quantile(work, 0.75);
        const iqrWidth = q3 - q1;
        const judged = n >= p.minPoints && iqrWidth > 0;
        const lowFence = q1 - k * iqrWidth;
        const highFence = q3 + k * iqrWidth;
        // One verdict object for every reading: consumers copy what they keep.
        const verdict: Verdict = { flagged: false, score: null, baseline: q2, kind: 'outlier' };
        const { times, values } = held;
        for (let i = 0; i < n; i++) {
          const value = values[i] as number;
          verdict.score = !judged
            ? null
            : value > q3
              ? (value - q3) / iqrWidth
              : value < q1
                ? (value - q1) / iqrWidth
                : 0;
          verdict.flagged = judged && (value < lowFence || value > highFence);
          emit(times[i] as number, value, verdict, true);
        }
      },
    };
  },
});
