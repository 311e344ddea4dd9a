// `iotctl anomalies` as data: validates the options against the chosen method, streams every selected
// series through the method's scorer (with history before --since where the method wants a baseline)
// and returns the flagged readings (`anomalies`) or the incidents they form (`anomalyIncidents`).
import type { Params, SeriesFilter } from '../db/sql/query.js';
import { loadStore } from '../db/store.js';
import type { Db } from '../db/types.js';
import { usageError } from '../errors.js';
import { streamAgg } from '../query/agg.js';
import { assertSeriesMatch, emptyRangeNote } from '../query/selection.js';
import type { TimeRange } from '../query/time.js';
import { parseDuration } from '../util/duration.js';
import { IncidentBuilder, reportIncidents, type Incident, type SeriesIncident } from './incidents.js';
import type {
  AnomalyMethod,
  AnomalyParams,
  Emit,
  HourlyAverages,
  ResolvedParams,
  SeriesScorer,
} from './method.js';
import { allFlags, anomalyMethod, type AnomalyMethodName } from './methods/index.js';
import { CLOSE_AFTER } from './methods/robust.js';
import { SLOT_MS } from './seasonal.js';
import { readSlices, seriesToScore, type SeriesToScore } from './stream.js';

export interface AnomaliesOptions extends AnomalyParams {
  method: AnomalyMethodName;
  filter: SeriesFilter;
  range: TimeRange;
  /** Incidents: they close after this many normal readings in a row (default 30). */
  closeAfter?: number;
  /** Incidents: one per series, or merged per device (the default). */
  group?: 'device' | 'series';
  /** Told when the selected series have no readings in the range, for stderr. */
  onNotice?: (message: string) => void;
  /** Incidents: told each flagged reading in [since, until) as it is scored (for a chart). */
  onFlagged?: (reading: FlaggedReading) => void;
}

export interface FlaggedReading {
  time: number;
  device: string;
  metric: string;
  value: number;
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

export interface IncidentsResult {
  method: AnomalyMethodName;
  since: Date;
  until: Date;
  params: Record<string, number | string | null>;
  /** Detected in [since, until): incidents detected in the history before --since were reported earlier. */
  incidents: Incident[];
  /** Readings judged in [since, until) (history excluded), for rates. */
  readings: number;
}

/** The options with the method's defaults filled in where a flag was not given. */
export function withDefaults(m: AnomalyMethod, o: AnomaliesOptions): AnomaliesOptions & ResolvedParams {
  const out: Record<string, unknown> = { ...o };
  for (const f of m.flags) {
    if (out[f.key] !== undefined || f.default === undefined) continue;
    out[f.key] = f.kind === 'duration' ? parseDuration(String(f.default)) : f.default;
  }
  out.minPoints ??= 10;
  return out as unknown as AnomaliesOptions & ResolvedParams;
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
  if (o.closeAfter !== undefined && !(Number.isInteger(o.closeAfter) && o.closeAfter >= 1))
    throw usageError('--close-after must be a whole number >= 1');
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

/**
 * The hourly averages of each series over the method's hourlyHistory before --since (up to the hour
 * --since falls in), through query agg's planner: from rollups where they answer exactly.
 */
async function hourlyHistories(
  db: Db,
  m: AnomalyMethod,
  o: AnomaliesOptions & ResolvedParams,
  series: SeriesToScore[],
): Promise<Map<number, HourlyAverages>> {
  const out = new Map<number, HourlyAverages>();
  const span = m.hourlyHistory?.(o);
  if (!span || series.length === 0) return out;
  const until = Math.floor(o.range.since.getTime() / SLOT_MS) * SLOT_MS;
  const range = { since: new Date(until - span), until: new Date(until) };
  const ids = new Map(series.map((s) => [`${s.device}\u0000${s.metric}`, s.id]));
  const every = parseDuration('1h');
  await streamAgg(db, { filter: o.filter, range, every, fns: ['avg'] }, async (res) => {
    for await (const page of res.pages) {
      for (const r of page) {
        const id = ids.get(`${r.device}\u0000${r.metric}`);
        if (id === undefined || typeof r.avg !== 'number') continue;
        let h = out.get(id);
        if (!h) out.set(id, (h = { times: [], values: [] }));
        h.times.push(r.time.getTime());
        h.values.push(r.avg);
      }
    }
  });
  return out;
}

/** Streams every selected series through a fresh scorer; `emit` gets each judged reading in time order. */
async function scoreAll(
  db: Db,
  m: AnomalyMethod,
  o: AnomaliesOptions & ResolvedParams,
  emitFor: (s: SeriesToScore) => Emit,
  counted?: (n: number) => void,
): Promise<SeriesToScore[]> {
  const { engine } = await loadStore(db);
  const since = o.range.since.getTime();
  const until = o.range.until.getTime();
  const { series, scanFrom } = await seriesToScore(db, engine, o.filter, o.range, m.lookback?.(o) ?? {});
  if (series.length === 0) await assertSeriesMatch(db, o.filter);
  const hourly = await hourlyHistories(db, m, o, series);
  const scorers = new Map<number, { s: SeriesToScore; scorer: SeriesScorer; emit: Emit }>(
    series.map((s) => [s.id, { s, scorer: m.scorer(o, hourly.get(s.id)), emit: emitFor(s) }]),
  );
  if (scanFrom !== null) {
    const ids = series.map((s) => s.id);
    const prefilter = m.prefilter;
    const candidates = prefilter && ((params: Params) => prefilter(o, params));
    // Each series is scored on its own: on an engine that routes series in groups (Citus) a group's slices
    // are packed by the one worker holding them, not gathered row by row on the coordinator.
    const groups = (await engine.seriesGroups(db, { ids }))?.groups ?? [ids];
    const slices = async function* () {
      for (const group of groups) yield* readSlices(db, group, scanFrom, until, { candidates, counted });
    };
    for await (const slice of slices()) {
      for (const part of slice) {
        const one = scorers.get(part.id);
        if (!one) continue;
        const { times, values } = part;
        for (let i = 0; i < times.length; i++) {
          const t = times[i] as number;
          if (t < one.s.historyFrom) continue;
          one.scorer.push(t, values[i] as number, t >= since, one.emit);
        }
      }
    }
  }
  for (const { scorer, emit } of scorers.values()) scorer.finish?.(emit);
  return series;
}

/** The flagged readings in [since, until), ordered by device, metric and time (`--points`). */
export async function anomalies(db: Db, opts: AnomaliesOptions): Promise<AnomaliesResult> {
  validateAnomalies(opts);
  const m = anomalyMethod(opts.method);
  const o = withDefaults(m, opts);
  const perSeries = new Map<number, AnomalyRow[]>();
  const series = await scoreAll(db, m, o, (s) => {
    const rows: AnomalyRow[] = [];
    perSeries.set(s.id, rows);
    return (time, value, v, inRange) => {
      if (!v.flagged || !inRange) return;
      const { device, metric, unit } = s;
      const row = { time: new Date(time), device, metric, value, unit };
      rows.push({ ...row, baseline: v.baseline, score: v.score, method: o.method });
    };
  });
  const rows = series.flatMap((s) => perSeries.get(s.id) ?? []);
  if (rows.length === 0) await noteEmptyRange(db, o);
  return { method: o.method, since: o.range.since, until: o.range.until, params: paramsOf(m, o), rows };
}

/** Nothing flagged is the usual answer; nothing to judge is said (onNotice). */
async function noteEmptyRange(db: Db, o: AnomaliesOptions): Promise<void> {
  if (!o.onNotice) return;
  const note = await emptyRangeNote(db, (await loadStore(db)).engine, o.filter, o.range);
  if (note) o.onNotice(note);
}

/** Incidents detected in [since, until), per device (default) or per series. */
export async function anomalyIncidents(db: Db, opts: AnomaliesOptions): Promise<IncidentsResult> {
  validateAnomalies(opts);
  const m = anomalyMethod(opts.method);
  const o = withDefaults(m, opts);
  const closeAfter = o.closeAfter ?? CLOSE_AFTER;
  const closed: SeriesIncident[] = [];
  const builders: IncidentBuilder[] = [];
  let readings = 0;
  const series = await scoreAll(
    db,
    m,
    o,
    (s) => {
      // A prefiltered method sees only its candidates: incidents close after closeAfter intervals.
      const closeAfterMs = m.prefilter ? closeAfter * (s.cadenceMs || Infinity) : Infinity;
      const b = new IncidentBuilder(s.id, closeAfter, (inc) => closed.push(inc), closeAfterMs);
      builders.push(b);
      const flagged = o.onFlagged;
      return (time, value, v, inRange) => {
        if (inRange && !m.prefilter) readings++;
        if (flagged && inRange && v.flagged) flagged({ time, device: s.device, metric: s.metric, value });
        b.add(time, value, v, inRange);
      };
    },
    (n) => {
      if (m.prefilter) readings += n;
    },
  );
  for (const b of builders) b.finish(o.range.until.getTime());
  const keys = new Map(series.map((s) => [s.id, s]));
  const incidents = reportIncidents(closed, keys, { byDevice: o.group !== 'series', closeAfter });
  if (readings === 0) await noteEmptyRange(db, o);
  return {
    method: o.method,
    since: o.range.since,
    until: o.range.until,
    params: paramsOf(m, o),
    incidents: incidents.filter((i) => i.detectedInRange),
    readings,
  };
}
