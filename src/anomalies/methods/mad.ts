// mad: robust z-score against the median of the range, in units of 1.4826 · MAD.
import { minPointsFlag, thresholdFlag } from '../flags.js';
import { defineMethod, required } from '../method.js';

export const mad = defineMethod({
  name: 'mad',
  summary: 'robust z-score against the median of the range (1.4826 · MAD)',
  flags: [thresholdFlag(3.5), minPointsFlag],
  scoredSql(q, p) {
    const n = p.add(q.minPoints, '::int');
    const threshold = p.add(required(q.threshold, 'threshold'), '::float8');
    return `WITH st AS (SELECT series_id, count(*) AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS med
                FROM pts GROUP BY series_id),
       d AS (SELECT pts.series_id, 1.4826 * percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(pts.value - st.med)) AS mad
               FROM pts JOIN st USING (series_id) GROUP BY pts.series_id)
  SELECT pts.series_id, pts.time, pts.value, st.med AS baseline,
         CASE WHEN st.n >= ${n} AND d.mad > 0 THEN (pts.value - st.med) / d.mad END AS score,
         st.n >= ${n} AND d.mad > 0 AND abs(pts.value - st.med) / d.mad > ${threshold} AS flagged
    FROM pts JOIN st USING (series_id) JOIN d USING (series_id)`;
  },
});
