// `iotctl anomalies`: readings that a chosen method flags as abnormal, computed per device and metric in SQL.
import { Option, type Command } from 'commander';
import {
  anomaliesQuery,
  anomalyMethods,
  type AnomalyMethod,
  type AnomalyQuery,
} from '../db/sql/anomalies.js';
import type { SeriesFilter } from '../db/sql/query.js';
import { loadStore } from '../db/store.js';
import type { Db } from '../db/types.js';
import { usageError } from '../errors.js';
import { printRows, type Column } from '../output/render.js';
import {
  addFilterOptions,
  addRangeOptions,
  parseFilter,
  parseNumber,
  parseRangeFlags,
  type FilterFlags,
} from '../query/options.js';
import type { TimeRange } from '../query/time.js';
import { parseDuration, type Duration } from '../util/duration.js';
import { examples, givenByUser, globalOptions, parseIntOption, withDb } from './common.js';

/** Defaults per method: the seed's rules (|z| > 3, robust |z| > 3.5, Tukey's k = 1.5). */
export const defaultThreshold: Record<'zscore' | 'mad', number> = { zscore: 3, mad: 3.5 };

export interface AnomaliesOptions {
  method: AnomalyMethod;
  filter: SeriesFilter & { metric: string };
  range: TimeRange;
  baseline: Duration;
  threshold?: number;
  k: number;
  maxStep?: number;
  min?: number;
  max?: number;
  minPoints: number;
}

export interface AnomalyRow {
  time: Date;
  device: string;
  metric: string;
  value: number;
  unit: string | null;
  baseline: number | null;
  score: number | null;
  method: AnomalyMethod;
}

export interface AnomaliesResult {
  method: AnomalyMethod;
  since: Date;
  until: Date;
  /** The parameters the method used (defaults filled in). */
  params: Record<string, number | string | null>;
  rows: AnomalyRow[];
}

/** The --threshold in effect: the user's, or the method's default (zscore's for methods without one). */
const thresholdOf = (o: AnomaliesOptions): number =>
  o.threshold ?? (o.method === 'mad' ? defaultThreshold.mad : defaultThreshold.zscore);

function methodParams(o: AnomaliesOptions): AnomaliesResult['params'] {
  switch (o.method) {
    case 'zscore':
      return { baseline: o.baseline.text, threshold: thresholdOf(o), minPoints: o.minPoints };
    case 'mad':
      return { threshold: thresholdOf(o), minPoints: o.minPoints };
    case 'iqr':
      return { k: o.k, minPoints: o.minPoints };
    case 'roc':
      return { maxStep: o.maxStep ?? null };
    case 'range':
      return { min: o.min ?? null, max: o.max ?? null };
  }
}

export function validateAnomalies(o: AnomaliesOptions): void {
  if (o.method === 'roc' && (o.maxStep === undefined || o.maxStep < 0)) {
    throw usageError(
      '--method roc needs --max-step <n>',
      'the largest normal change between consecutive readings',
    );
  }
  if (o.method === 'range') {
    if (o.min === undefined && o.max === undefined)
      throw usageError('--method range needs --min and/or --max');
    if (o.min !== undefined && o.max !== undefined && o.min > o.max) throw usageError('--min is above --max');
  }
  if (o.threshold !== undefined && o.threshold <= 0) throw usageError('--threshold must be above 0');
  if (o.k < 0) throw usageError('--k must be 0 or more');
}

export async function anomalies(db: Db, o: AnomaliesOptions): Promise<AnomaliesResult> {
  validateAnomalies(o);
  await loadStore(db);
  const q: AnomalyQuery = {
    method: o.method,
    filter: o.filter,
    since: o.range.since,
    until: o.range.until,
    baseline: o.baseline.interval,
    threshold: thresholdOf(o),
    k: o.k,
    maxStep: o.maxStep,
    min: o.min,
    max: o.max,
    minPoints: o.minPoints,
  };
  const { rows } = await db.query<Omit<AnomalyRow, 'method'>>(anomaliesQuery(q));
  return {
    method: o.method,
    since: o.range.since,
    until: o.range.until,
    params: methodParams(o),
    rows: rows.map((r) => ({ ...r, time: new Date(r.time), method: o.method })),
  };
}

export function registerAnomalies(program: Command): void {
  const cmd = addRangeOptions(addFilterOptions(program.command('anomalies'), true), '1h')
    .description(
      'readings a method flags as abnormal, per device and metric (exit 0 whether or not any are found)',
    )
    .addOption(new Option('--method <method>', 'detection method').choices(anomalyMethods).default('zscore'))
    .option('--baseline <duration>', 'zscore: trailing window the mean and spread come from', '24h')
    .option(
      '--threshold <n>',
      'zscore/mad: flag |score| above this (default 3 for zscore, 3.5 for mad)',
      parseNumber('--threshold'),
    )
    .option('--k <n>', 'iqr: fences at Q1 - k·IQR and Q3 + k·IQR', parseNumber('--k'), 1.5)
    .option(
      '--max-step <n>',
      'roc: largest normal change between consecutive readings',
      parseNumber('--max-step'),
    )
    .option('--min <n>', 'range: lowest valid value', parseNumber('--min'))
    .option('--max <n>', 'range: highest valid value', parseNumber('--max'))
    .option(
      '--min-points <n>',
      'zscore/mad/iqr: fewest readings a baseline needs to score',
      parseIntOption('--min-points', 2),
      10,
    )
    .action(
      async (
        o: FilterFlags & {
          since: string;
          until: string;
          method: AnomalyMethod;
          baseline: string;
          threshold?: number;
          k: number;
          maxStep?: number;
          min?: number;
          max?: number;
          minPoints: number;
        },
        command: Command,
      ) => {
        const g = globalOptions(command);
        if (givenByUser(command, 'threshold') && !['zscore', 'mad'].includes(o.method)) {
          throw usageError(`--threshold applies to zscore and mad, not ${o.method}`);
        }
        const opts: AnomaliesOptions = {
          method: o.method,
          filter: { ...parseFilter(o), metric: o.metric as string },
          range: parseRangeFlags(o),
          baseline: parseDuration(o.baseline, '--baseline'),
          threshold: o.threshold,
          k: o.k,
          maxStep: o.maxStep,
          min: o.min,
          max: o.max,
          minPoints: o.minPoints,
        };
        // Validated once, by anomalies() itself, so every caller gets the same checks.
        const res = await withDb(g, (db) => anomalies(db, opts));
        const table = g.format === 'table';
        const unit = (v: unknown, r: AnomalyRow) =>
          v === null || v === undefined
            ? ''
            : `${Number(Number(v).toPrecision(6))}${r.unit ? ` ${r.unit}` : ''}`;
        await printRows(
          g.format,
          res.rows,
          [
            { key: 'time' },
            { key: 'device' },
            { key: 'metric' },
            { key: 'value', align: 'right', format: table ? unit : undefined },
            { key: 'baseline', align: 'right', format: table ? unit : undefined },
            {
              key: 'score',
              align: 'right',
              format: table ? (v) => (v === null ? '' : String(Number(Number(v).toPrecision(4)))) : undefined,
            },
            { key: 'method' },
            ...(table ? [] : [{ key: 'unit' } as Column<AnomalyRow>]),
          ],
          res,
        );
      },
    );
  examples(cmd, [
    'iotctl anomalies --metric temperature --since 1h',
    'iotctl anomalies --metric temperature --method mad --since 24h --json',
    'iotctl anomalies --metric temperature --method roc --max-step 10 --since 6h',
    'iotctl anomalies --metric humidity --method range --min 0 --max 100 --since 7d',
  ]);
}
