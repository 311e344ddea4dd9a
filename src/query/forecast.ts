// `iotctl forecast`: bucket averages of one series through query agg's planner (the rollup that matches
// the bucket width, raw readings where no rollup answers), an additive Holt-Winters fit, and its forecast
// with 80% and 95% prediction intervals.
import { orderedSeries, readingsExtent, type SeriesFilter } from '../db/sql/query.js';
import type { Db } from '../db/types.js';
import { usageError } from '../errors.js';
import {
  chooseSeason,
  forecastHoltWinters,
  minBuckets,
  seasonalNaiveMae,
  type HwFit,
  type HwParams,
} from '../forecast/holt-winters.js';
import { ceilToBucket, floorToBucket } from '../util/buckets.js';
import { formatDurationMs, parseDuration, type Duration } from '../util/duration.js';
import { streamAgg } from './agg.js';
import type { Segment } from './plan.js';
import { assertSeriesMatch } from './selection.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The seasons tried when --season is not given (those a whole number of 2 to MAX_SEASON_BUCKETS buckets). */
export const SEASON_CANDIDATES = [DAY, 7 * DAY];
export const MAX_SEASON_BUCKETS = 1000;
/** History read by default: this many of the longest season tried... */
export const HISTORY_SEASONS = 8;
/** ...and at least this many horizons. */
export const HISTORY_HORIZONS = 4;
/** Buckets a forecast may have at most (a horizon far beyond the bucket width is a mistake). */
export const MAX_STEPS = 10_000;
/** Buckets of history read at most. */
export const MAX_HISTORY = 100_000;

export interface ForecastOptions {
  filter: SeriesFilter;
  horizon: Duration;
  /** Bucket width; default from the horizon (everyFor). */
  every?: Duration;
  /** The season; null: none (Holt's damped trend); undefined: chosen among SEASON_CANDIDATES by AIC. */
  season?: Duration | null;
  /** Start of the history; default HISTORY_SEASONS seasons (and HISTORY_HORIZONS horizons) before its end. */
  since?: Date;
  /** End of the history (exclusive), where the forecast starts; default the end of the series' last bucket. */
  until?: Date;
  /** Told about things worth knowing on stderr (a partial last bucket left out). */
  onNotice?: (message: string) => void;
}

export interface ForecastRow {
  time: Date;
  forecast: number;
  lo80: number;
  hi80: number;
  lo95: number;
  hi95: number;
}

export interface ForecastResult {
  device: string;
  metric: string;
  unit: string | null;
  every: string;
  /** The season used ('1d'), or null for none. */
  season: string | null;
  horizon: string;
  /**
   * The history fitted, [since, until): up to the last bucket with readings. The rows start there, or at
   * --until when it is later (the buckets between are forecast, not shown).
   */
  since: Date;
  until: Date;
  params: HwParams;
  fitted: {
    /** Buckets of history fitted, and how many of them held no reading (filled by the model's estimate). */
    buckets: number;
    missing: number;
    /** One-step in-sample errors, in the series' unit; mase: their MAE over the seasonal naive one's. */
    rmse: number;
    mae: number;
    mase: number | null;
    /** The seasons compared (when chosen from the data) and their AIC, the lowest chosen. */
    candidates: Array<{ season: string | null; aic: number }>;
  };
  rows: ForecastRow[];
  /** Not in the JSON: the bucket averages fitted (for the chart) and which sources answered. */
  history: Array<{ time: Date; value: number | null }>;
  sources: Segment[];
}

/** The bucket width for a horizon: 5m up to 6 hours ahead, 1h up to a week, 1d beyond. */
export function everyFor(horizon: Duration): Duration {
  if (horizon.ms <= 6 * HOUR) return parseDuration('5m');
  if (horizon.ms <= 7 * DAY) return parseDuration('1h');
  return parseDuration('1d');
}

/** The candidate seasons in buckets of `every` (1 = none). */
export function seasonPeriods(every: Duration, season: Duration | null | undefined): number[] {
  if (season === null) return [1];
  if (season) return [season.ms / every.ms];
  return [
    1,
    ...SEASON_CANDIDATES.filter(
      (s) => s % every.ms === 0 && s / every.ms >= 2 && s / every.ms <= MAX_SEASON_BUCKETS,
    ).map((s) => s / every.ms),
  ];
}

/** Usage checks that need no database: the data function runs them too. */
export function validateForecast(o: ForecastOptions): { every: Duration; steps: number; periods: number[] } {
  const every = o.every ?? everyFor(o.horizon);
  if (o.horizon.ms < every.ms)
    throw usageError(`--horizon ${o.horizon.text} is shorter than one bucket (--every ${every.text})`);
  const steps = Math.ceil(o.horizon.ms / every.ms);
  if (steps > MAX_STEPS)
    throw usageError(
      `--horizon ${o.horizon.text} is ${steps} buckets of ${every.text}; at most ${MAX_STEPS}`,
      'use a wider --every',
    );
  if (o.season && (o.season.ms % every.ms !== 0 || o.season.ms / every.ms < 2))
    throw usageError(
      `--season ${o.season.text} must be a whole number of at least 2 buckets of --every ${every.text}`,
    );
  if (o.since && o.until && o.since.getTime() >= o.until.getTime())
    throw usageError(`--since (${o.since.toISOString()}) must be before --until (${o.until.toISOString()})`);
  return { every, steps, periods: seasonPeriods(every, o.season) };
}

const seasonText = (period: number, every: Duration) =>
  period > 1 ? formatDurationMs(period * every.ms) : null;

export async function forecast(db: Db, o: ForecastOptions): Promise<ForecastResult> {
  const { every, steps, periods } = validateForecast(o);
  const { rows: series } = await db.query<{
    id: number;
    device: string;
    metric: string;
    unit: string | null;
  }>(orderedSeries(o.filter));
  if (series.length === 0) {
    await assertSeriesMatch(db, o.filter);
    throw usageError('no series to forecast: the store holds none', 'load readings with iotctl ingest');
  }
  if (series.length > 1) {
    const listed = series.slice(0, 10).map((s) => `${s.device} ${s.metric}`);
    throw usageError(
      `forecast reads one series; the selection matches ${series.length}: ${listed.join(', ')}${series.length > 10 ? ', …' : ''}`,
      'choose one with --device (and --metric)',
    );
  }
  const s = series[0]!;
  // Narrowed to its id: on Citus the per-series LIMIT subqueries then go to the one shard that holds it.
  const one: SeriesFilter = { metric: s.metric, devices: [s.device], ids: [s.id] };

  // The end: whole buckets up to --until, or the end of the bucket holding the series' last reading.
  let end: number;
  if (o.until) end = floorToBucket(o.until.getTime(), every.ms);
  else {
    const last = (await db.query<{ last: Date | string | null }>(readingsExtent(one))).rows[0]?.last;
    if (!last) throw usageError(`${s.device} ${s.metric} holds no readings`);
    end = floorToBucket(new Date(last).getTime(), every.ms) + every.ms;
  }
  const longest = Math.max(...periods) * every.ms;
  const span = Math.max(HISTORY_SEASONS * longest, HISTORY_HORIZONS * steps * every.ms, 50 * every.ms);
  const start = o.since ? ceilToBucket(o.since.getTime(), every.ms) : end - span;
  if (start >= end)
    throw usageError(`--since leaves no whole bucket of ${every.text} before ${new Date(end).toISOString()}`);

  const n = Math.round((end - start) / every.ms);
  if (n > MAX_HISTORY)
    throw usageError(
      `the history from ${new Date(start).toISOString()} is ${n} buckets of ${every.text}; at most ${MAX_HISTORY}`,
      'give a later --since or a wider --every',
    );
  const values = new Float64Array(n).fill(NaN);
  const counts = new Float64Array(n);
  let sources: Segment[] = [];
  await streamAgg(
    db,
    { filter: one, range: { since: new Date(start), until: new Date(end) }, every, fns: ['avg', 'count'] },
    async (res) => {
      sources = res.sources;
      for await (const page of res.pages)
        for (const r of page) {
          const i = Math.round((r.time.getTime() - start) / every.ms);
          if (i < 0 || i >= n || typeof r.avg !== 'number') continue;
          values[i] = r.avg;
          counts[i] = Number(r.count);
        }
    },
  );
  // Leading buckets without readings are not history; a last bucket still being filled (under half the
  // usual count of readings) when the end was not given is left out, and forecast instead.
  let first = 0;
  while (first < n && Number.isNaN(values[first])) first++;
  let last = n;
  while (last > first && Number.isNaN(values[last - 1])) last--;
  if (!o.until && last - first > 2) {
    const known = Array.from(counts.subarray(first, last))
      .filter((c) => c > 0)
      .sort((a, b) => a - b);
    const median = known[known.length >> 1] ?? 0;
    if ((counts[last - 1] as number) < median / 2) {
      o.onNotice?.(
        `the last bucket (${new Date(start + (last - 1) * every.ms).toISOString()}) holds ${counts[last - 1]} readings against a usual ${median}: left out as not yet complete`,
      );
      last--;
    }
  }
  const y = values.slice(first, last);
  const fromMs = start + first * every.ms;
  const untilMs = start + last * every.ms;
  const chosen = y.length ? chooseSeason(y, periods) : null;
  if (!chosen) {
    const need = Math.min(...periods.map(minBuckets));
    throw usageError(
      `too little history for ${s.device} ${s.metric}: ${y.length} buckets of ${every.text} with readings between ${new Date(start).toISOString()} and ${new Date(end).toISOString()}; a forecast needs at least ${need}${periods.some((p) => p > 1) ? ' (two seasons and one)' : ''}`,
      o.since ? 'give an earlier --since' : 'give --since further back, a shorter --season, or --season none',
    );
  }
  const fit: HwFit = chosen.best;
  // Given --until, the buckets between the last one with readings and it are forecast too (their intervals
  // growing as they should) and not shown: the rows start at --until. Without it, where the history ends.
  const rowsFrom = o.until ? end : untilMs;
  const gap = Math.round((rowsFrom - untilMs) / every.ms);
  const rows = forecastHoltWinters(fit, gap + steps)
    .slice(gap)
    .map((p, i) => ({ time: new Date(rowsFrom + i * every.ms), ...p }));
  let absSum = 0;
  let sqSum = 0;
  let k = 0;
  let missing = 0;
  for (let t = 0; t < y.length; t++) {
    const v = y[t] as number;
    if (Number.isNaN(v)) {
      missing++;
      continue;
    }
    const e = v - (fit.fitted[t] as number);
    absSum += Math.abs(e);
    sqSum += e * e;
    k++;
  }
  const scale = seasonalNaiveMae(y, fit.period);
  const mae = absSum / k;
  return {
    device: s.device,
    metric: s.metric,
    unit: s.unit,
    every: every.text,
    season: seasonText(fit.period, every),
    horizon: o.horizon.text,
    since: new Date(fromMs),
    until: new Date(untilMs),
    params: fit.params,
    fitted: {
      buckets: y.length,
      missing,
      rmse: Math.sqrt(sqSum / k),
      mae,
      mase: scale > 0 ? mae / scale : null,
      candidates:
        o.season === undefined
          ? chosen.tried.map((f) => ({ season: seasonText(f.period, every), aic: f.aic }))
          : [],
    },
    rows,
    history: Array.from(y, (v, t) => ({
      time: new Date(fromMs + t * every.ms),
      value: Number.isNaN(v) ? null : v,
    })),
    sources,
  };
}
