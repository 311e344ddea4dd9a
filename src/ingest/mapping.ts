// Row mapping and validation: turns one input record (CSV fields or an NDJSON line) into readings,
// rejects and skipped nulls, for long files, wide files and Telegraf JSON.
import { usageError } from '../errors.js';
import { COMPONENT_NAMES, componentTime, makeTimeParser, type TimeOptions, type TimeParser } from './time.js';

export interface Reading {
  device: string;
  metric: string;
  /** Epoch microseconds. */
  us: number;
  value: number;
  unit: string | null;
  /** JSON text of a tags object. */
  tags: string | null;
}

export type RejectReason =
  | 'bad_time'
  | 'future_time'
  | 'bad_value'
  | 'not_finite'
  | 'out_of_range'
  | 'missing_field'
  | 'field_count'
  | 'invalid_utf8'
  | 'bad_json'
  | 'bad_tags'
  | 'csv_syntax';

export interface MapOptions {
  /** field → column, from --map (and --time for several columns). */
  map: Record<string, string>;
  timeColumns?: string[];
  /** true: --wide; false: long; undefined: decided from the header. */
  wide?: boolean;
  metrics?: string[];
  exclude: string[];
  /** A constant device id (--device). */
  device?: string;
  time: TimeOptions;
  /** Extra null markers (--null); empty, NA and null always are. */
  nulls: string[];
  maxFutureMs: number;
  ranges: Map<string, { min: number; max: number }>;
}

/** Where a mapper sends what it finds; `count` is how many readings a rejected record stood for. */
export interface MapSink {
  reading(
    device: string,
    metric: string,
    us: number,
    value: number,
    unit: string | null,
    tags: string | null,
  ): void;
  reject(reason: RejectReason, detail: string, count: number): void;
  nulls(count: number): void;
}

const aliases: Record<'time' | 'device_id' | 'metric' | 'value' | 'unit' | 'tags', string[]> = {
  time: [
    'time',
    'timestamp',
    'ts',
    'datetime',
    'date_time',
    'date',
    'unix_ts',
    'epoch',
    '_time',
    'time_stamp',
  ],
  device_id: [
    'device_id',
    'device',
    'deviceid',
    'sensor_id',
    'sensor',
    'node_id',
    'node',
    'host',
    'station',
    'station_id',
  ],
  metric: ['metric', 'name', 'measurement', 'field', 'metric_name', 'sensor_type', 'quantity', 'variable'],
  value: ['value', 'val', 'reading', 'measurement_value', '_value'],
  unit: ['unit', 'units', 'uom'],
  tags: ['tags', 'labels'],
};
export const FIELDS = Object.keys(aliases) as Array<keyof typeof aliases>;

const norm = (s: string) => s.trim().toLowerCase();

/** The column for `field` among `names`: --map first, then the aliases; undefined when absent. */
function findColumn(
  field: keyof typeof aliases,
  names: string[],
  map: Record<string, string>,
): string | undefined {
  const wanted = map[field];
  if (wanted !== undefined) {
    if (!names.includes(wanted)) {
      const known = names.map((n) => JSON.stringify(n)).join(', ');
      throw usageError(`--map ${field}=${wanted}: no such column`, `the columns are ${known}`);
    }
    return wanted;
  }
  const lower = names.map(norm);
  for (const a of aliases[field]) {
    const i = lower.indexOf(a);
    if (i >= 0) return names[i];
  }
  return undefined;
}

/** 0001-01-01T00:00:00Z: toISOString and PostgreSQL agree from here on. */
const MIN_US = -62_135_596_800_000_000;

/** Validation shared by every format: numbers, nulls, time limits, ranges. */
export class Validator {
  private readonly nullText: Set<string>;
  private readonly nullNumbers: number[];
  readonly parseTime: TimeParser;
  /** The --max-future cutoff, moved on with the clock when a time passes it (a stdin ingest runs for days). */
  private latestUs: number;

  constructor(readonly opts: MapOptions) {
    this.nullText = new Set(['', 'na', 'n/a', 'null', 'none', ...opts.nulls.map(norm)]);
    this.nullNumbers = opts.nulls.map((n) => Number(n.replace(',', '.'))).filter((n) => n === n && n !== 0);
    this.parseTime = makeTimeParser(opts.time);
    this.latestUs = (Date.now() + opts.maxFutureMs) * 1000;
  }

  isNull(text: string): boolean {
    const t = text.trim();
    if (this.nullText.has(t.toLowerCase())) return true;
    if (this.nullNumbers.length === 0) return false;
    const n = Number(t.replace(',', '.'));
    return this.nullNumbers.includes(n);
  }

  /** A finite number from text (decimal comma allowed) or the reason it is not one. */
  number(text: string): number | RejectReason {
    let t = text.trim();
    if (t.includes(',') && /^[+-]?\d*,\d+$/.test(t)) t = t.replace(',', '.');
    const n = Number(t);
    if (Number.isFinite(n)) return n;
    return /^[+-]?(nan|inf|infinity)$/i.test(t) ? 'not_finite' : 'bad_value';
  }

  /** Checks a parsed time; null when it is fine. */
  timeProblem(us: number | null, text: string): [RejectReason, string] | null {
    if (us === null || !Number.isFinite(us)) return ['bad_time', `cannot read time '${text}'`];
    if (us < MIN_US) return ['bad_time', `time ${text} is before the year 1`];
    if (us > this.latestUs) {
      this.latestUs = (Date.now() + this.opts.maxFutureMs) * 1000;
      if (us > this.latestUs) return ['future_time', `time ${text} is more than --max-future ahead`];
    }
    return null;
  }

  /** Validates one value and hands it to the sink. */
  emit(
    sink: MapSink,
    device: string,
    metric: string,
    us: number,
    valueIn: unknown,
    unit: string | null,
    tags: string | null,
  ) {
    let value: number | RejectReason;
    if (valueIn === null || valueIn === undefined) return sink.nulls(1);
    // PostgreSQL cannot store NUL in text (22021) or \u0000 in jsonb (22P05): one such reading must
    // not abort the load.
    if (
      device.includes('\0') ||
      metric.includes('\0') ||
      (unit !== null && unit.includes('\0')) ||
      (tags !== null && hasNul(tags))
    ) {
      return sink.reject('invalid_utf8', `${metric}: a NUL character in the device, metric, unit or tags`, 1);
    }
    if (typeof valueIn === 'number') value = Number.isFinite(valueIn) ? valueIn : 'not_finite';
    else if (typeof valueIn === 'boolean') value = valueIn ? 1 : 0;
    else if (typeof valueIn === 'string') {
      if (this.isNull(valueIn)) return sink.nulls(1);
      value = this.number(valueIn);
    } else value = 'bad_value';
    if (typeof value !== 'number') {
      return sink.reject(
        value,
        `${metric}: ${value === 'not_finite' ? 'not a finite number' : 'not a number'}: ${short(valueIn)}`,
        1,
      );
    }
    if (typeof valueIn === 'number' || typeof valueIn === 'string') {
      if (this.nullNumbers.includes(value)) return sink.nulls(1);
    }
    const range = this.opts.ranges.get(metric);
    if (range && (value < range.min || value > range.max)) {
      return sink.reject('out_of_range', `${metric}: ${value} outside ${range.min}:${range.max}`, 1);
    }
    sink.reading(device, metric, us, value, unit, tags);
  }
}

const hasNul = (json: string) => json.includes('\0') || json.includes('\\u0000');

function short(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 40 ? s.slice(0, 40) + '…' : s;
}

export type RecordMapper = (fields: string[], raw: string, sink: MapSink) => void;

/** How time is read from a row, given the header. */
function timeReader(
  header: string[],
  opts: MapOptions,
  v: Validator,
): { columns: number[]; read: (f: string[]) => [number | null, string] } {
  const lower = header.map(norm);
  let names = opts.timeColumns;
  if (!names) {
    const one = findColumn('time', header, opts.map);
    if (one !== undefined && !(norm(one) === 'date' && lower.includes('time'))) names = [one];
    else if (lower.includes('year') && lower.includes('month'))
      names = COMPONENT_NAMES.filter((c) => lower.includes(c));
    else {
      throw usageError(
        `no time column in the header (${header.map((h) => JSON.stringify(h)).join(', ')})`,
        'name it with --time COLUMN (or several: --time Date,Time)',
      );
    }
  }
  const columns = names.map((n) => {
    const i = header.indexOf(n) >= 0 ? header.indexOf(n) : lower.indexOf(norm(n));
    if (i < 0)
      throw usageError(
        `--time: no column '${n}'`,
        `the columns are ${header.map((h) => JSON.stringify(h)).join(', ')}`,
      );
    return i;
  });
  const colNames = columns.map((i) => norm(header[i]!));
  if (columns.length > 1 && colNames.every((n) => COMPONENT_NAMES.includes(n))) {
    const fromParts = componentTime(opts.time.tz);
    return {
      columns,
      read: (f) => {
        const parts: Record<string, string> = {};
        columns.forEach((c, k) => (parts[colNames[k]!] = f[c] ?? ''));
        return [fromParts(parts), columns.map((c) => f[c]).join(' ')];
      },
    };
  }
  if (columns.length === 1) {
    const c = columns[0]!;
    return { columns, read: (f) => [v.parseTime(f[c] ?? ''), f[c] ?? ''] };
  }
  return {
    columns,
    read: (f) => {
      const text = columns.map((c) => (f[c] ?? '').trim()).join(' ');
      return [v.parseTime(text), text];
    },
  };
}

/**
 * Builds the mapper for a CSV file from its header and first data row (which decides, in wide files
 * without --metrics, which columns are numeric).
 */
export function csvMapper(
  header: string[],
  firstRow: string[],
  opts: MapOptions,
  v: Validator,
): { mapper: RecordMapper; describe: string; readingsPerRow: number } {
  const time = timeReader(header, opts, v);
  const deviceCol = opts.device === undefined ? findColumn('device_id', header, opts.map) : undefined;
  if (opts.device === undefined && deviceCol === undefined) {
    throw usageError(
      'no device column in the header',
      'give a constant with --device NAME or a column with --map device_id=COLUMN',
    );
  }
  const deviceIdx = deviceCol === undefined ? -1 : header.indexOf(deviceCol);
  const metricCol = findColumn('metric', header, opts.map);
  const valueCol = findColumn('value', header, opts.map);
  const wide = opts.wide ?? !(metricCol !== undefined && valueCol !== undefined);
  const width = header.length;
  const constDevice = opts.device;

  const rowProblem = (f: string[], raw: string): [RejectReason, string] | null => {
    if (f.length !== width && !(f.length > width && f.slice(width).every((x) => x.trim() === ''))) {
      return ['field_count', `expected ${width} fields, found ${f.length}`];
    }
    if (raw.includes('\uFFFD')) return ['invalid_utf8', 'the line is not valid UTF-8'];
    return null;
  };

  if (!wide) {
    if (metricCol === undefined || valueCol === undefined) {
      throw usageError(
        'long format needs a metric and a value column',
        'name them with --map metric=COL --map value=COL, or use --wide',
      );
    }
    const mi = header.indexOf(metricCol);
    const vi = header.indexOf(valueCol);
    const unitCol = findColumn('unit', header, opts.map);
    const tagsCol = findColumn('tags', header, opts.map);
    const ui = unitCol === undefined ? -1 : header.indexOf(unitCol);
    const ti = tagsCol === undefined ? -1 : header.indexOf(tagsCol);
    const mapper: RecordMapper = (f, raw, sink) => {
      const p = rowProblem(f, raw);
      if (p) return sink.reject(p[0], p[1], 1);
      const [us, text] = time.read(f);
      const tp = v.timeProblem(us, text);
      if (tp) return sink.reject(tp[0], tp[1], 1);
      const device = constDevice ?? (f[deviceIdx] as string).trim();
      const metric = (f[mi] as string).trim();
      if (device === '' || metric === '')
        return sink.reject('missing_field', device === '' ? 'no device' : 'no metric', 1);
      let tags: string | null = null;
      if (ti >= 0 && (f[ti] as string).trim() !== '') {
        tags = (f[ti] as string).trim();
        if (!isJsonObject(tags)) return sink.reject('bad_tags', 'tags is not a JSON object', 1);
      }
      const unit = ui >= 0 && (f[ui] as string).trim() !== '' ? (f[ui] as string).trim() : null;
      v.emit(sink, device, metric, us as number, f[vi] as string, unit, tags);
    };
    return {
      mapper,
      readingsPerRow: 1,
      describe: `long format: time=${time.columns.map((i) => header[i]).join('+')}, device=${constDevice ?? deviceCol}, metric=${metricCol}, value=${valueCol}`,
    };
  }

  const reserved = new Set<number>([...time.columns, deviceIdx]);
  let metricIdx: number[];
  if (opts.metrics) {
    metricIdx = opts.metrics.map((m) => {
      const i = header.indexOf(m);
      if (i < 0)
        throw usageError(
          `--metrics: no column '${m}'`,
          `the columns are ${header.map((h) => JSON.stringify(h)).join(', ')}`,
        );
      return i;
    });
  } else {
    const excluded = new Set(opts.exclude);
    // Unnamed columns (an index column, trailing separators) and text columns are not metrics.
    metricIdx = header
      .map((_, i) => i)
      .filter((i) => !reserved.has(i) && header[i]!.trim() !== '' && !excluded.has(header[i]!))
      .filter((i) => {
        const cell = firstRow[i] ?? '';
        return v.isNull(cell) || typeof v.number(cell) === 'number';
      });
  }
  if (metricIdx.length === 0) throw usageError('no metric columns found', 'name them with --metrics a,b,c');
  const metricNames = metricIdx.map((i) => header[i]!.trim());
  const n = metricIdx.length;
  const mapper: RecordMapper = (f, raw, sink) => {
    const p = rowProblem(f, raw);
    if (p) return sink.reject(p[0], p[1], n);
    const [us, text] = time.read(f);
    const tp = v.timeProblem(us, text);
    if (tp) return sink.reject(tp[0], tp[1], n);
    const device = constDevice ?? (f[deviceIdx] as string).trim();
    if (device === '') return sink.reject('missing_field', 'no device', n);
    for (let k = 0; k < n; k++)
      v.emit(sink, device, metricNames[k]!, us as number, f[metricIdx[k]!] as string, null, null);
  };
  return {
    mapper,
    readingsPerRow: n,
    describe: `wide format: time=${time.columns.map((i) => header[i]).join('+')}, device=${constDevice ?? deviceCol}, metrics=${metricNames.join(',')}`,
  };
}

function isJsonObject(text: string): boolean {
  try {
    const o = JSON.parse(text);
    return typeof o === 'object' && o !== null && !Array.isArray(o);
  } catch {
    return false;
  }
}

/** Flattens nested objects to dotted keys: {a:{b:1}} → {"a.b": 1}. */
function flatten(
  obj: Record<string, unknown>,
  prefix = '',
  out: Record<string, unknown> = {},
): Record<string, unknown> {
  for (const [k, val] of Object.entries(obj)) {
    if (val !== null && typeof val === 'object' && !Array.isArray(val))
      flatten(val as Record<string, unknown>, prefix + k + '.', out);
    else out[prefix + k] = val;
  }
  return out;
}

/** The NDJSON mapper: Telegraf JSON, long objects and wide (one key per metric) objects, nested or flat. */
export function ndjsonMapper(opts: MapOptions, v: Validator): RecordMapper {
  const excluded = new Set(opts.exclude);
  const metricsWanted = opts.metrics;
  const timeText = (val: unknown) =>
    typeof val === 'number' ? String(val) : typeof val === 'string' ? val : '';
  // Objects of one shape share a plan (which key is the time, device, ...), so aliases are looked up once.
  const plans = new Map<string, ReturnType<typeof makePlan>>();
  const makePlan = (keys: string[], sample: Record<string, unknown>) => {
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
    const numericKeys = keys.filter(
      (k) =>
        k !== tKey &&
        k !== deviceKey &&
        !excluded.has(k) &&
        (typeof sample[k] === 'number' || sample[k] === null),
    );
    return { tKey, deviceKey, metricKey, valueKey, unitKey: mapped('unit'), long, numericKeys };
  };
  return (_f, raw, sink) => {
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch {
      return sink.reject(raw.includes('\uFFFD') ? 'invalid_utf8' : 'bad_json', 'not a JSON object', 1);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
      return sink.reject('bad_json', 'not a JSON object', 1);
    if (raw.includes('\uFFFD')) return sink.reject('invalid_utf8', 'the line is not valid UTF-8', 1);
    const o = obj as Record<string, unknown>;

    // Telegraf: {"name", "tags": {...}, "fields": {...}, "timestamp"}: one reading per field.
    if (typeof o.name === 'string' && o.fields && typeof o.fields === 'object' && 'timestamp' in o) {
      const fields = Object.entries(o.fields as Record<string, unknown>).filter(([k]) => !excluded.has(k));
      const tags = { ...((o.tags as Record<string, string>) ?? {}) };
      const tagKey = opts.map.device_id ?? aliases.device_id.find((a) => a in tags);
      const device = opts.device ?? (tagKey !== undefined ? tags[tagKey] : undefined);
      if (tagKey !== undefined) delete tags[tagKey];
      const tt = timeText(o.timestamp);
      const us = v.parseTime(tt);
      const tp = v.timeProblem(us, tt);
      if (tp) return sink.reject(tp[0], tp[1], fields.length);
      if (!device) return sink.reject('missing_field', 'no device tag', fields.length);
      const tagText = Object.keys(tags).length ? JSON.stringify(tags) : null;
      for (const [k, val] of fields)
        v.emit(sink, String(device), `${o.name}.${k}`, us as number, val, null, tagText);
      return;
    }

    let nested = false;
    for (const k in o) if (o[k] !== null && typeof o[k] === 'object' && !Array.isArray(o[k])) nested = true;
    const flat = nested ? flatten(o) : o;
    const keys = Object.keys(flat);
    const signature = keys.join('\u0000');
    let plan = plans.get(signature);
    if (!plan) {
      if (plans.size > 1000) plans.clear();
      plan = makePlan(keys, flat);
      plans.set(signature, plan);
    }
    const { tKey, deviceKey, metricKey, valueKey, unitKey, long } = plan;
    const metricKeys = long ? [] : (metricsWanted ?? plan.numericKeys);
    const count = long ? 1 : Math.max(1, metricKeys.length);
    if (tKey === undefined || flat[tKey] === undefined) return sink.reject('missing_field', 'no time', count);
    const tt = timeText(flat[tKey]);
    const us = v.parseTime(tt);
    const tp = v.timeProblem(us, tt);
    if (tp) return sink.reject(tp[0], tp[1], count);
    const device = opts.device ?? (deviceKey !== undefined ? flat[deviceKey] : undefined);
    if (device === undefined || device === null || String(device).trim() === '')
      return sink.reject('missing_field', 'no device', count);
    if (long) {
      const metric = flat[metricKey!];
      if (metric === undefined || metric === null || String(metric).trim() === '')
        return sink.reject('missing_field', 'no metric', 1);
      const unit = unitKey !== undefined && flat[unitKey] != null ? String(flat[unitKey]) : null;
      const tagsObj = o[opts.map.tags ?? 'tags'] ?? o.labels;
      const tags = tagsObj && typeof tagsObj === 'object' ? JSON.stringify(tagsObj) : null;
      return v.emit(sink, String(device), String(metric), us as number, flat[valueKey!], unit, tags);
    }
    if (metricKeys.length === 0) return sink.reject('missing_field', 'no numeric fields', 1);
    for (const k of metricKeys) v.emit(sink, String(device), k, us as number, flat[k], null, null);
  };
}
