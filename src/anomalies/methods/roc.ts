// roc: a change between consecutive readings larger than --max-step.
import { usageError } from '../../errors.js';
import { defineMethod, required } from '../method.js';

export const roc = defineMethod({
  name: 'roc',
  summary: 'a jump between consecutive readings',
  flags: [
    {
      key: 'maxStep',
      flags: '--max-step <n>',
      help: 'largest normal change between consecutive readings',
      kind: 'number',
    },
  ],
  validate(p) {
    if (p.maxStep === undefined || p.maxStep < 0) {
      throw usageError(
        '--method roc needs --max-step <n>',
        'the largest normal change between consecutive readings',
      );
    }
  },
  scoredSql(q, p) {
    const maxStep = p.add(required(q.maxStep, 'maxStep'), '::float8');
    return `SELECT series_id, time, value, prev AS baseline, value - prev AS score,
         prev IS NOT NULL AND abs(value - prev) > ${maxStep} AS flagged
    FROM (SELECT series_id, time, value, lag(value) OVER (PARTITION BY series_id ORDER BY time) AS prev FROM pts) x`;
  },
});
