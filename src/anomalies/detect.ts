// `iotctl anomalies` as data: validates the options against the chosen method and returns the flagged readings.
import { anomaliesQuery } from '../db/sql/anomalies.js';
import type { SeriesFilter } from '../db/sql/query.js';
import { loadStore } from '../db/store.js';
import type { Db } from '../db/types.js';
import { usageError } from '../errors.js';
import type { TimeRange } from '../query/time.js';
import { parseDuration } from '../util/duration.js';
import type { AnomalyMethod, AnomalyParams, AnomalyQuery } from './method.js';
import { allFlags, anomalyMethod, type AnomalyMethodName } from './methods/index.js';

export interface AnomaliesOptions extends AnomalyParams {
  method: AnomalyMethodName;
  filter: SeriesFilter & { metric: string };
  range: TimeRange;
}

export interface AnomalyRow {
  time: Date;
  device: string;
  metric: string;
  value: number;
  unit: string | null;
  baseline: number | null;
  score: number | null;
  method: AnomalyMethodName;
}

export interface AnomaliesResult {
  method: AnomalyMethodName;
  since: Date;
  until: Date;
  /** The parameters the method used (defaults filled in). */
  params: Record<string, number | string | null>;
  rows: AnomalyRow[];
}

/** The options with the method's defaults filled in where a flag was not given. */
export function withDefaults(m: AnomalyMethod, o: AnomaliesOptions): AnomaliesOptions {
  const out: Record<string, unknown> = { ...o };
  for (const f of m.flags) {
    if (out[f.key] !== undefined || f.default === undefined) continue;
    out[f.key] = f.kind === 'duration' ? parseDuration(String(f.default)) : f.default;
  }
  return out as unknown as AnomaliesOptions;
}

/** The method's own checks first, then each flag's check on any value given. */
export function validateAnomalies(o: AnomaliesOptions): void {
  const m = anomalyMethod(o.method);
  m.validate?.(o);
  for (const { flag } of allFlags()) {
    const v = o[flag.key];
    const problem = typeof v === 'number' ? flag.check?.(v) : undefined;
    if (problem) throw usageError(problem);
  }
}

/** The parameters a method reads, in its flag order, as reported in the result (`params`). */
function paramsOf(m: AnomalyMethod, o: AnomaliesOptions): AnomaliesResult['params'] {
  const params: AnomaliesResult['params'] = {};
  for (const f of m.flags) {
    const v = o[f.key];
    params[f.key] = v === undefined ? null : typeof v === 'object' ? v.text : v;
  }
  return params;
}

export async function anomalies(db: Db, opts: AnomaliesOptions): Promise<AnomaliesResult> {
  validateAnomalies(opts);
  const m = anomalyMethod(opts.method);
  const o = withDefaults(m, opts);
  await loadStore(db);
  const q = { method: o.method, filter: o.filter, since: o.range.since, until: o.range.until };
  for (const { flag } of allFlags()) {
    const v = o[flag.key];
    (q as Record<string, unknown>)[flag.key] = typeof v === 'object' ? v.interval : v;
  }
  const { rows } = await db.query<Omit<AnomalyRow, 'method'>>(anomaliesQuery(q as AnomalyQuery));
  return {
    method: o.method,
    since: o.range.since,
    until: o.range.until,
    params: paramsOf(m, o),
    rows: rows.map((r) => ({ ...r, time: new Date(r.time), method: o.method })),
  };
}
