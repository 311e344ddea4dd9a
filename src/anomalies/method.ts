// What an anomaly method is: its flags (with its defaults), its checks, and the SQL that scores readings.
import type { Params, SeriesFilter } from '../db/sql/query.js';
import type { Duration } from '../util/duration.js';

/** Every parameter a method can take; each method declares the ones it reads as flags. */
export interface AnomalyParams {
  /** zscore: the trailing window. */
  baseline: Duration;
  /** zscore and mad: |score| above this is flagged (the method's default when not given). */
  threshold?: number;
  /** iqr: fences at Q1 - k·IQR and Q3 + k·IQR. */
  k: number;
  /** roc: largest allowed change between consecutive readings. */
  maxStep?: number;
  /** range: allowed bounds. */
  min?: number;
  max?: number;
  /** zscore, mad, iqr: fewest readings a baseline needs to score. */
  minPoints: number;
}

/** The statement's view of the parameters: durations as PostgreSQL intervals (`24 hours`). */
export interface AnomalyQuery {
  method: string;
  filter: SeriesFilter;
  since: Date;
  until: Date;
  baseline: string;
  threshold?: number;
  k: number;
  maxStep?: number;
  min?: number;
  max?: number;
  minPoints: number;
}

export interface MethodFlag {
  key: keyof AnomalyParams;
  /** As commander spells it: `--threshold <n>`. */
  flags: string;
  /** What it means for the methods that take it (the method names are prefixed in --help). */
  help: string;
  kind: 'number' | 'int' | 'duration';
  /** int: the smallest accepted value. */
  min?: number;
  /** This method's default; a flag without one is optional (or required by the method's validate). */
  default?: number | string;
  /** The value's own check: an error message, or undefined when it is fine. */
  check?: (value: number) => string | undefined;
  /** Given with a method that does not take it: a usage error (otherwise ignored). */
  exclusive?: boolean;
}

export interface AnomalyMethod<N extends string = string> {
  name: N;
  /** One line: what is flagged. */
  summary: string;
  flags: MethodFlag[];
  /** Checks across flags (required ones, combinations); throws a usage error. */
  validate?: (p: AnomalyParams) => void;
  /** How far before --since the scoring reads (a PostgreSQL interval), if at all. */
  lookback?: (q: AnomalyQuery) => string | undefined;
  /**
   * SQL over `pts(series_id, time, value)` (the selected readings from since - lookback to until) that
   * yields (series_id, time, value, baseline, score, flagged); `since` is the placeholder of --since.
   */
  scoredSql: (q: AnomalyQuery, p: Params, since: string) => string;
}

export function defineMethod<N extends string>(m: AnomalyMethod<N>): AnomalyMethod<N> {
  return m;
}

/** A parameter the method's validate or defaults guarantee; a missing one is a bug, not a usage error. */
export function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`anomaly query without ${what}`);
  return value;
}
