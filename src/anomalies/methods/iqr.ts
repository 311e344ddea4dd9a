// iqr: outside Tukey's fences Q1 - k·IQR and Q3 + k·IQR of the range.
import { minPointsFlag } from '../flags.js';
import { defineMethod } from '../method.js';

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
  scoredSql(q, p) {
    const n = p.add(q.minPoints, '::int');
    const k = p.add(q.k, '::float8');
    return `SELECT pts.series_id, pts.time, pts.value, st.q[2] AS baseline,
         CASE WHEN st.n < ${n} OR st.q[3] = st.q[1] THEN NULL
              WHEN pts.value > st.q[3] THEN (pts.value - st.q[3]) / (st.q[3] - st.q[1])
              WHEN pts.value < st.q[1] THEN (pts.value - st.q[1]) / (st.q[3] - st.q[1])
              ELSE 0 END AS score,
         st.n >= ${n} AND st.q[3] > st.q[1]
           AND (pts.value < st.q[1] - ${k} * (st.q[3] - st.q[1]) OR pts.value > st.q[3] + ${k} * (st.q[3] - st.q[1])) AS flagged
    FROM pts
    JOIN (SELECT series_id, count(*) AS n,
                 percentile_cont(ARRAY[0.25, 0.5, 0.75]::float8[]) WITHIN GROUP (ORDER BY value) AS q
            FROM pts GROUP BY series_id) st USING (series_id)`;
  },
});
