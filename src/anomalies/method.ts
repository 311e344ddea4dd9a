// What an anomaly method is: its flags (with its defaults), its checks, how much history it reads, and the
// streaming scorer that judges each reading of a series in time order.
import type { Params } from '../db/sql/query.js';
import type { Duration } from '../util/duration.js';

/** Every parameter a method can take; each method declares the ones it reads as flags. */
export interface AnomalyParams {
  /** zscore: the trailing window. */
  baseline?: Duration;
  /** zscore, mad, robust: |score| above this is flagged (the method's default when not given). */
  threshold?: number;
  /** iqr: fences at Q1 - k·IQR and Q3 + k·IQR. */
  k?: number;
  /** roc: largest allowed change between consecutive readings. */
  maxStep?: number;
  /** range: allowed bounds. */
  min?: number;
  max?: number;
  /** zscore, mad, iqr, robust: fewest readings a baseline needs to score. */
  minPoints?: number;
  /** robust: the trailing baseline, in readings. */
  window?: number;
  /** robust: score against a seasonal profile with this season (1d: the hour of the day; 7d: of the week). */
  season?: Duration;
  /** robust --season: how many seasons of history the profile holds (default 8). */
  seasons?: number;
}

/** The parameters once the method's defaults are filled in. */
export type ResolvedParams = AnomalyParams & Required<Pick<AnomalyParams, 'minPoints'>>;

export type FaultKind = 'spike' | 'level' | 'stuck' | 'outlier' | 'step' | 'bounds';

/** A method's judgement of one reading. `score` and `baseline` are null when it could not judge it. */
export interface Verdict {
  flagged: boolean;
  score: number | null;
  baseline: number | null;
  kind?: FaultKind;
  /** The fault began earlier than this reading (a stuck sensor: at the first of the equal readings). */
  onset?: { time: number; readings: number };
}

/** Receives each judged reading, in time order. `inRange`: at or after --since (else history). */
export type Emit = (time: number, value: number, verdict: Verdict, inRange: boolean) => void;

/** One series' scorer: readings arrive in time order, history (before --since) first. */
export interface SeriesScorer {
  push(time: number, value: number, inRange: boolean, emit: Emit): void;
  /** Methods that judge against the whole range (mad, iqr) emit here, once the last reading is in. */
  finish?(emit: Emit): void;
}

/** Hourly averages of one series: hour starts (ms) and averages, oldest first. */
export interface HourlyAverages {
  times: number[];
  values: number[];
}

/** How much history before --since a method reads: a number of readings per series, or a duration. */
export interface Lookback {
  readings?: number;
  ms?: number;
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
  /** History read before --since for the baseline. */
  lookback?: (p: ResolvedParams) => Lookback;
  /**
   * Hourly averages of each series the scorer starts from: this many ms before --since, through
   * `query agg`'s planner (from rollups where they answer, else from readings, aggregated in the database).
   */
  hourlyHistory?: (p: ResolvedParams) => number | undefined;
  /** A fresh scorer for one series; `hourly`: its hourly averages before --since, oldest first. */
  scorer: (p: ResolvedParams, hourly?: HourlyAverages) => SeriesScorer;
  /**
   * An SQL condition on `r.value` that every reading the method can flag meets (values added to
   * `params`). Only those readings are read, so the scan costs what a filter costs; incidents then
   * close after `closeAfter` typical intervals without a flagged reading, not after `closeAfter`
   * normal readings (which are not read). For methods without history and whose judgement of a
   * reading depends on that reading alone.
   */
  prefilter?: (p: ResolvedParams, params: Params) => string;
}

export function defineMethod<N extends string>(m: AnomalyMethod<N>): AnomalyMethod<N> {
  return m;
}

/** A parameter the method's validate or defaults guarantee; a missing one is a bug, not a usage error. */
export function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`anomaly method without ${what}`);
  return value;
}

export const notJudged: Verdict = { flagged: false, score: null, baseline: null };
