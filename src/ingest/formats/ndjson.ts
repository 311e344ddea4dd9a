// NDJSON: one JSON object a line, flat or nested (nested keys become `a.b`), long (metric + value keys) or
// wide (every numeric key a metric). JSON.parse happens here, so a bad line is a rejected row.
import type { Readable } from 'node:stream';
import {
  aliases,
  hasSurrogateEscape,
  findColumn,
  type MapOptions,
  type MapSink,
  type RecordMapper,
  type Validator,
} from '../mapping.js';
import { usageError } from '../../errors.js';
import { ndjsonRecords, type InputRecord } from '../parse.js';
import type { InputFormat } from './types.js';

/** Splits decompressed bytes into lines (shared by the JSON formats). */
export async function jsonLines(input: Readable): Promise<Readable> {
  const records = input.pipe(ndjsonRecords());
  input.once('error', (err) => records.destroy(err));
  return records;
}

/** The JSON object on a line, or undefined when it is not one. */
export function objectOf(raw: string): Record<string, unknown> | undefined {
  try {
    const obj: unknown = JSON.parse(raw);
    return obj !== null && typeof obj === 'object' && !Array.isArray(obj)
      ? (obj as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The object on a line, or undefined after rejecting the line (not JSON, not an object, not UTF-8). */
export function parseObjectLine(raw: string, sink: MapSink): Record<string, unknown> | undefined {
  let obj: unknown;
  try {
    obj = JSON.parse(raw);
  } catch {
    sink.reject(raw.includes('\uFFFD') ? 'invalid_utf8' : 'bad_json', 'not a JSON object', 1);
    return undefined;
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    sink.reject('bad_json', 'not a JSON object', 1);
    return undefined;
  }
  if (raw.includes('\uFFFD')) {
    sink.reject('invalid_utf8', 'the line is not valid UTF-8', 1);
    return undefined;
  }
  return obj as Record<string, unknown>;
}

/** Time values as the time parser takes them: numbers as their text. */
export const timeText = (val: unknown) =>
  typeof val === 'number' ? String(val) : typeof val === 'string' ? val : '';

/** Deepest nesting read; a deeper object is a rejected line (not a stack overflow that ends the load). */
export const MAX_DEPTH = 64;

/** Flattens nested objects to dotted keys: {a:{b:1}} → {"a.b": 1}; undefined when nested too deep. */
function flatten(
  obj: Record<string, unknown>,
  prefix = '',
  out: Record<string, unknown> = {},
  depth = 0,
): Record<string, unknown> | undefined {
  if (depth > MAX_DEPTH) return undefined;
  for (const [k, val] of Object.entries(obj)) {
    if (val !== null && typeof val === 'object' && !Array.isArray(val)) {
      if (!flatten(val as Record<string, unknown>, prefix + k + '.', out, depth + 1)) return undefined;
    } else out[prefix + k] = val;
  }
  return out;
}

/** JSON text of a tags object, or undefined when it cannot be written (nested too deep for JSON.stringify). */
export function tagsJson(tags: object): string | undefined {
  try {
    return JSON.stringify(tags);
  } catch {
    return undefined;
  }
}

/** Keys that hold a log line's level (events only). */
const LEVEL_KEYS = ['level', 'severity', 'log_level', 'loglevel'];
/** The key of an event's JSON payload object (events only). */
const PAYLOAD_KEY = 'payload';

/** Stop remembering metric keys past this many (a file of random keys must not grow memory). */
const MAX_METRIC_KEYS = 100_000;

/**
 * The NDJSON mapper: long objects and wide objects, nested or flat. Wide: every number in every object is a
 * reading (a null is a skipped one); text is a null marker (counted as a null) or, in a key that has held a number (or null) in
 * this input, a reading that is not a number (rejected); other text is a label, not a reading.
 */
export function ndjsonMapper(
  opts: MapOptions,
  v: Validator,
  timeSource: (text: string) => void = () => undefined,
): RecordMapper {
  const excluded = new Set(opts.exclude);
  const metricsWanted = opts.metrics;
  const metricKeys = new Set<string>();
  const tagsKey = opts.map.tags ?? 'tags';
  const events = v.events;
  // Objects of one shape share a plan (which key is the time, device, ...), so aliases are looked up once.
  const plans = new Map<string, ReturnType<typeof makePlan>>();
  const makePlan = (keys: string[]) => {
    const mapped = (field: keyof typeof aliases) =>
      opts.map[field] !== undefined
        ? keys.includes(opts.map[field]!)
          ? opts.map[field]
          : undefined
        : findColumn(field, keys, {});
    const tKey = opts.timeColumns?.[0] ?? mapped('time');
    const deviceKey = mapped('device_id');
    const metricKey = mapped('metric');
    const valueKey = mapped('value');
    const long = !opts.wide && metricKey !== undefined && valueKey !== undefined;
    const unitKey = mapped('unit');
    // A log line's level (text) and payload object go with the events of its object (with events on); a
    // numeric `level` (a tank's) stays a metric.
    const levelKey = events ? keys.find((k) => LEVEL_KEYS.includes(k.toLowerCase())) : undefined;
    // Keys that can hold readings: not the time, device or unit, not --exclude, not inside the tags.
    const valueKeys = keys.filter(
      (k) =>
        k !== tKey &&
        k !== deviceKey &&
        k !== unitKey &&
        !excluded.has(k) &&
        !k.startsWith(tagsKey + '.') &&
        !k.startsWith('labels.') &&
        !(events && (k === PAYLOAD_KEY || k.startsWith(PAYLOAD_KEY + '.'))),
    );
    return { tKey, deviceKey, metricKey, valueKey, unitKey, levelKey, long, valueKeys };
  };
  return (_f, raw, sink) => {
    const o = parseObjectLine(raw, sink);
    if (!o) return;
    let nested = false;
    for (const k in o) if (o[k] !== null && typeof o[k] === 'object' && !Array.isArray(o[k])) nested = true;
    const flat = nested ? flatten(o) : o;
    if (!flat) return sink.reject('bad_json', `nested deeper than ${MAX_DEPTH} levels`, 1);
    const keys = Object.keys(flat);
    const signature = keys.join('\u0000');
    let plan = plans.get(signature);
    if (!plan) {
      if (plans.size > 1000) plans.clear();
      plan = makePlan(keys);
      plans.set(signature, plan);
      if (plan.tKey !== undefined) timeSource(`key ${JSON.stringify(plan.tKey)}`);
    }
    const { tKey, deviceKey, metricKey, valueKey, unitKey, levelKey, long } = plan;
    const textLevel = levelKey !== undefined && typeof flat[levelKey] === 'string' ? levelKey : undefined;
    const cells = long
      ? []
      : (metricsWanted ?? plan.valueKeys.filter((k) => k !== textLevel && isCell(k, flat[k])));
    const count = long ? 1 : Math.max(1, cells.length);
    if (tKey === undefined || flat[tKey] === undefined) return sink.reject('missing_field', 'no time', count);
    const tt = timeText(flat[tKey]);
    const us = v.parseTime(tt);
    const tp = v.timeProblem(us, tt);
    if (tp) return sink.reject(tp[0], tp[1], count);
    const device = opts.device ?? (deviceKey !== undefined ? flat[deviceKey] : undefined);
    if (device === undefined || device === null || String(device).trim() === '')
      return sink.reject('missing_field', 'no device', count);
    if (long && opts.metric !== undefined) {
      throw usageError(
        `--metric ${opts.metric}: the objects have a metric key (${JSON.stringify(metricKey)})`,
        '--metric names the metric of objects with one value; drop it, or choose a key with --wide --metrics KEY',
      );
    }
    let level: string | null = null;
    let payload: string | null = null;
    if (events) {
      const lv = levelKey === undefined ? undefined : flat[levelKey];
      if (typeof lv === 'string') level = lv;
      const pl = o[PAYLOAD_KEY];
      if (pl !== undefined && pl !== null) {
        if (typeof pl !== 'object' || Array.isArray(pl))
          return sink.reject('bad_payload', 'payload is not a JSON object', count);
        const text = tagsJson(pl);
        if (text === undefined)
          return sink.reject('bad_payload', `payload nested deeper than ${MAX_DEPTH} levels`, count);
        payload = text;
      }
    }
    if (long) {
      const metric = flat[metricKey!];
      if (metric === undefined || metric === null || String(metric).trim() === '')
        return sink.reject('missing_field', 'no metric', 1);
      const unit = unitKey !== undefined && flat[unitKey] != null ? String(flat[unitKey]) : null;
      const tagsObj = o[tagsKey] ?? o.labels;
      const tags = tagsObj && typeof tagsObj === 'object' ? tagsJson(tagsObj) : null;
      if (tags === undefined)
        return sink.reject('bad_tags', `tags nested deeper than ${MAX_DEPTH} levels`, 1);
      const esc = hasSurrogateEscape(raw);
      return v.emit(
        sink,
        String(device),
        String(metric),
        us as number,
        flat[valueKey!],
        unit,
        tags,
        esc,
        level,
        payload,
      );
    }
    if (cells.length === 0) return sink.reject('missing_field', 'no numeric fields', 1);
    const esc = hasSurrogateEscape(raw);
    if (opts.metric !== undefined) {
      if (cells.length > 1) {
        throw usageError(
          `--metric ${opts.metric} names one value, and an object has ${cells.length} (${cells.map((c) => JSON.stringify(c)).join(', ')})`,
          'choose one with --metrics KEY, or drop --metric: each key is then a metric named after it',
        );
      }
      const only = flat[cells[0]!];
      return v.emit(sink, String(device), opts.metric, us as number, only, null, null, esc, level, payload);
    }
    for (const k of cells)
      v.emit(sink, String(device), k, us as number, flat[k], null, null, esc, level, payload);
  };

  /** Whether a wide object's key holds a reading (see above); a number or null makes the key a metric. */
  function isCell(k: string, val: unknown): boolean {
    if (typeof val === 'number' || val === null) {
      if (metricKeys.size < MAX_METRIC_KEYS) metricKeys.add(k);
      return true;
    }
    // With events on, text and booleans are values too: events, or rejects in a key that held a number.
    if (events && (typeof val === 'string' || typeof val === 'boolean')) return true;
    return typeof val === 'string' && (metricKeys.has(k) || v.isNull(val));
  }
}

export const ndjson: InputFormat = {
  name: 'ndjson',
  help: 'one JSON object a line (also .jsonl, .json): long (metric + value keys) or wide, flat or nested',
  fileNames: /\.(ndjson|jsonl|json)$/,
  detect: (rec: InputRecord) => objectOf(rec.raw) !== undefined,
  records: (input) => jsonLines(input),
  reader(ctx) {
    const map = ndjsonMapper(ctx.mapping, ctx.validator, ctx.timeSource);
    return { read: (rec, sink) => map([], rec.raw, sink) };
  },
};
