// The anomaly methods, in the order --help lists them: a new method is one file and one entry here.
import { usageError } from '../../errors.js';
import type { AnomalyMethod, MethodFlag } from '../method.js';
import { iqr } from './iqr.js';
import { mad } from './mad.js';
import { range } from './range.js';
import { robust } from './robust.js';
import { roc } from './roc.js';
import { zscore } from './zscore.js';

export const anomalyMethods = [robust, zscore, mad, iqr, roc, range] as const;

export type AnomalyMethodName = (typeof anomalyMethods)[number]['name'];

export const defaultMethod: AnomalyMethodName = 'robust';

export const methodNames: AnomalyMethodName[] = anomalyMethods.map((m) => m.name);

export function anomalyMethod(name: string): AnomalyMethod {
  const m = anomalyMethods.find((x) => x.name === name);
  if (!m) throw usageError(`unknown --method '${name}'`, `use ${methodNames.join(', ')}`);
  return m;
}

/** A flag and the methods that take it (with each one's default), merged by key across methods. */
export interface SharedFlag {
  flag: MethodFlag;
  methods: Array<{ name: string; default?: number | string }>;
}

/** Every flag of every method, once, in the order they first appear. */
export function allFlags(): SharedFlag[] {
  const out = new Map<string, SharedFlag>();
  for (const m of anomalyMethods) {
    for (const f of m.flags) {
      const entry = out.get(f.key) ?? { flag: f, methods: [] };
      entry.methods.push({ name: m.name, default: f.default });
      out.set(f.key, entry);
    }
  }
  return [...out.values()];
}
