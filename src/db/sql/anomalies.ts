// SQL for `iotctl anomalies`: the readings a method scores, and its scoring query (anomalies/methods/),
// computed per series inside the database.
//
// Every method yields (series_id, time, value, baseline, score, flagged); the outer query keeps the flagged
// readings in [since, until). A series with fewer than `minPoints` readings in its reference set, or whose
// spread is zero, is not scored (score NULL, never flagged): a z-score against no spread means nothing.
import { anomalyMethod } from '../../anomalies/methods/index.js';
import type { AnomalyQuery } from '../../anomalies/method.js';
import type { Sql } from '../types.js';
import { literal } from './ident.js';
import { POINTS } from './schema.js';
import { Params, selectSeries } from './query.js';

export type { AnomalyQuery };

/** Flagged readings in [since, until), ordered by device, metric and time. */
export function anomaliesQuery(q: AnomalyQuery): Sql {
  const method = anomalyMethod(q.method);
  const p = new Params();
  const sel = selectSeries(q.filter, p);
  const since = p.add(q.since, '::timestamptz');
  const until = p.add(q.until, '::timestamptz');
  // A method with a trailing baseline (zscore) reads that much before --since too.
  const lookback = method.lookback?.(q);
  const from = lookback ? `${since} - INTERVAL ${literal(lookback)}` : since;
  const text = `WITH ${sel},
pts AS (
  SELECT r.series_id, r.time, r.value FROM ${POINTS} r JOIN sel ON sel.id = r.series_id
   WHERE r.time >= ${from} AND r.time < ${until}
),
scored AS (
  ${method.scoredSql(q, p, since)}
)
SELECT s.time, sel.device_id AS device, sel.metric, s.value, sel.unit, s.baseline, s.score
  FROM scored s JOIN sel ON sel.id = s.series_id
 WHERE s.flagged
 ORDER BY sel.device_id, sel.metric, s.time`;
  return { text, values: p.values };
}
