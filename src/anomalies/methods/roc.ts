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
  scorer(p) {
    const maxStep = required(p.maxStep, 'maxStep');
    let prev: number | null = null;
    return {
      push(time, value, inRange, emit) {
        const score = prev === null ? null : value - prev;
        const flagged = score !== null && Math.abs(score) > maxStep;
        emit(time, value, { flagged, score, baseline: prev, kind: 'step' }, inRange);
        prev = value;
      },
    };
  },
});
