// zscore: distance from the mean of the trailing --baseline window, in sample standard deviations.
import { literal } from '../../db/sql/ident.js';
import { minPointsFlag, thresholdFlag } from '../flags.js';
import { defineMethod, required } from '../method.js';

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
  lookback: (q) => q.baseline,
  scoredSql(q, p, since) {
    const n = p.add(q.minPoints, '::int');
    const threshold = p.add(required(q.threshold, 'threshold'), '::float8');
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
  },
});
