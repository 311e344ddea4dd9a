// Flags several anomaly methods take; each method lists them with its own default.
import type { MethodFlag } from './method.js';

const aboveZero = (v: number) => (v <= 0 ? '--threshold must be above 0' : undefined);

export const thresholdFlag = (defaultValue: number): MethodFlag => ({
  key: 'threshold',
  flags: '--threshold <n>',
  help: 'flag |score| above this',
  kind: 'number',
  default: defaultValue,
  check: aboveZero,
  exclusive: true,
});

export const minPointsFlag: MethodFlag = {
  key: 'minPoints',
  flags: '--min-points <n>',
  help: 'fewest readings a baseline needs to score',
  kind: 'int',
  min: 2,
  default: 10,
};
