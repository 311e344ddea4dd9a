// range: a value outside fixed bounds --min / --max.
import { usageError } from '../../errors.js';
import { defineMethod } from '../method.js';

export const range = defineMethod({
  name: 'range',
  summary: 'a value outside --min / --max',
  flags: [
    { key: 'min', flags: '--min <n>', help: 'lowest valid value', kind: 'number' },
    { key: 'max', flags: '--max <n>', help: 'highest valid value', kind: 'number' },
  ],
  validate(p) {
    if (p.min === undefined && p.max === undefined)
      throw usageError('--method range needs --min and/or --max');
    if (p.min !== undefined && p.max !== undefined && p.min > p.max) throw usageError('--min is above --max');
  },
  scoredSql(q, p) {
    const lo = q.min === undefined ? 'NULL::float8' : p.add(q.min, '::float8');
    const hi = q.max === undefined ? 'NULL::float8' : p.add(q.max, '::float8');
    return `SELECT series_id, time, value,
         CASE WHEN value < ${lo} THEN ${lo} WHEN value > ${hi} THEN ${hi} END AS baseline,
         CASE WHEN value < ${lo} THEN value - ${lo} WHEN value > ${hi} THEN value - ${hi} END AS score,
         coalesce(value < ${lo}, false) OR coalesce(value > ${hi}, false) AS flagged
    FROM pts`;
  },
});
