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
  prefilter(p, params) {
    const outside = [
      ...(p.min === undefined ? [] : [`r.value < ${params.add(p.min, '::float8')}`]),
      ...(p.max === undefined ? [] : [`r.value > ${params.add(p.max, '::float8')}`]),
    ];
    return `(${outside.join(' OR ')})`;
  },
  scorer(p) {
    const lo = p.min ?? -Infinity;
    const hi = p.max ?? Infinity;
    return {
      push(time, value, inRange, emit) {
        const bound = value < lo ? lo : value > hi ? hi : null;
        const score = bound === null ? null : value - bound;
        emit(time, value, { flagged: bound !== null, score, baseline: bound, kind: 'bounds' }, inRange);
      },
    };
  },
});
