// SQL for `iotctl anomalies`: one scoring query per method, computed per series inside the database.
//
// Every method yields (series_id, time, value, baseline, score, flagged); the outer query keeps the flagged
// readings in [since, until). A series with fewer than `minPoints` readings in its reference set, or whose
// spread is zero, is not scored (score NULL, never flagged): a z-score against no spread means nothing.
import type { Sql } from '../types.js';
import { literal } from './ident.js';
import { POINTS } from './schema.js';
import { Params, selectSeries, type SeriesFilter } from './query.js';

export type AnomalyMethod = 'zscore' | 'mad' | 'iqr' | 'roc' | 'range';
export const anomalyMethods: AnomalyMethod[] = ['zscore', 'mad', 'iqr', 'roc', 'range'];

export interface AnomalyQuery {
  method: AnomalyMethod;
  filter: SeriesFilter;
  since: Date;
  until: Date;
  /** zscore: the trailing window, as a PostgreSQL interval (`24 hours`). */
  baseline: string;
  /** zscore and mad: |score| above this is flagged. */
  threshold: number;
  /** iqr: fences at Q1 - k·IQR and Q3 + k·IQR. */
  k: number;
  /** roc: largest allowed change between consecutive readings. */
  maxStep?: number;
  /** range: allowed bounds. */
  min?: number;
  max?: number;
  minPoints: number;
}

function scored(q: AnomalyQuery, p: Params, since: string): string {
  const minPoints = () => p.add(q.minPoints, '::int');
  switch (q.method) {
    case 'zscore': {
      const n = minPoints();
      const threshold = p.add(q.threshold, '::float8');
      // The frame includes the current row and the sums subtract it again: a frame with EXCLUDE makes
      // PostgreSQL recompute every window from scratch, while numeric sums over a plain moving frame are
      // updated incrementally (inverse transition), and stay exact.
      return `SELECT series_id, time, value, mean AS baseline,
         CASE WHEN n >= ${n} AND sd > 0 THEN (value - mean) / sd END AS score,
         n >= ${n} AND sd > 0 AND abs(value - mean) / sd > ${threshold} AS flagged
    FROM (SELECT series_id, time, value, n, (s / n)::float8 AS mean,
                 CASE WHEN n > 1 THEN sqrt(greatest(0, (ss - s * s / n) / (n - 1)))::float8 END AS sd
            FROM (SELECT series_id, time, value,
                         count(*) OVER w - 1 AS n,
                         sum(value::numeric) OVER w - value::numeric AS s,
                         sum((value * value)::numeric) OVER w - (value * value)::numeric AS ss
                    FROM pts
                  WINDOW w AS (PARTITION BY series_id ORDER BY time
                               RANGE BETWEEN INTERVAL ${literal(q.baseline)} PRECEDING AND CURRENT ROW)) x
           WHERE time >= ${since} AND n > 0) y`;
    }
    case 'mad': {
      const n = minPoints();
      const threshold = p.add(q.threshold, '::float8');
      return `WITH st AS (SELECT series_id, count(*) AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS med
                FROM pts GROUP BY series_id),
       d AS (SELECT pts.series_id, 1.4826 * percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(pts.value - st.med)) AS mad
               FROM pts JOIN st USING (series_id) GROUP BY pts.series_id)
  SELECT pts.series_id, pts.time, pts.value, st.med AS baseline,
         CASE WHEN st.n >= ${n} AND d.mad > 0 THEN (pts.value - st.med) / d.mad END AS score,
         st.n >= ${n} AND d.mad > 0 AND abs(pts.value - st.med) / d.mad > ${threshold} AS flagged
    FROM pts JOIN st USING (series_id) JOIN d USING (series_id)`;
    }
    case 'iqr': {
      const n = minPoints();
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
    }
    case 'roc': {
      const maxStep = p.add(q.maxStep, '::float8');
      return `SELECT series_id, time, value, prev AS baseline, value - prev AS score,
         prev IS NOT NULL AND abs(value - prev) > ${maxStep} AS flagged
    FROM (SELECT series_id, time, value, lag(value) OVER (PARTITION BY series_id ORDER BY time) AS prev FROM pts) x`;
    }
    case 'range': {
      const lo = q.min === undefined ? 'NULL::float8' : p.add(q.min, '::float8');
      const hi = q.max === undefined ? 'NULL::float8' : p.add(q.max, '::float8');
      return `SELECT series_id, time, value,
         CASE WHEN value < ${lo} THEN ${lo} WHEN value > ${hi} THEN ${hi} END AS baseline,
         CASE WHEN value < ${lo} THEN value - ${lo} WHEN value > ${hi} THEN value - ${hi} END AS score,
         coalesce(value < ${lo}, false) OR coalesce(value > ${hi}, false) AS flagged
    FROM pts`;
    }
  }
}

/** Flagged readings in [since, until), ordered by device, metric and time. */
export function anomaliesQuery(q: AnomalyQuery): Sql {
  const p = new Params();
  const sel = selectSeries(q.filter, p);
  const since = p.add(q.since, '::timestamptz');
  const until = p.add(q.until, '::timestamptz');
  // zscore reads the trailing baseline before --since too; the other methods only the range itself.
  const from = q.method === 'zscore' ? `${since} - INTERVAL ${literal(q.baseline)}` : since;
  const text = `WITH ${sel},
pts AS (
  SELECT r.series_id, r.time, r.value FROM ${POINTS} r JOIN sel ON sel.id = r.series_id
   WHERE r.time >= ${from} AND r.time < ${until}
),
scored AS (
  ${scored(q, p, since)}
)
SELECT s.time, sel.device_id AS device, sel.metric, s.value, sel.unit, s.baseline, s.score
  FROM scored s JOIN sel ON sel.id = s.series_id
 WHERE s.flagged
 ORDER BY sel.device_id, sel.metric, s.time`;
  return { text, values: p.values };
}
