// What every input format shares once a record is split: the mapping options, the column aliases, the
// sink readings go to, and validation (numbers, nulls, time limits, ranges). The per-format mappers
// live in ./formats/.
import { usageError } from '../errors.js';
import { makeTimeParser, type TimeOptions, type TimeParser } from './time.js';

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
  | 'csv_syntax'
  | 'too_long'
  | 'bad_payload';

/**
 * Longest series fields, in UTF-8 bytes. Device id and metric together are one entry of the unique
 * (device_id, metric) index, which PostgreSQL caps at 2,704 bytes: a longer one would fail its batch.
 */
export const SERIES_LIMITS = { device: 1024, metric: 1024, unit: 256, tags: 65_536 } as const;
/** Longest event fields, in UTF-8 bytes: the value (a state, a log line), its level and its JSON payload. */
export const EVENT_LIMITS = { value: 8192, level: 256, payload: 65_536 } as const;
/** Text of at most this many UTF-16 units is at most 1,023 UTF-8 bytes (3 bytes a unit at most). */
const SHORT = 341;
/** Deepest nesting of a tags object (PostgreSQL's jsonb parser has a stack limit too). */
const MAX_TAGS_DEPTH = 64;

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
  /** A constant metric name (--metric): the name of a file's one value column. */
  metric?: string;
  /** Units for readings whose input gives none (--unit metric=unit, or --unit unit for every metric). */
  units?: UnitDefaults;
  /** Tags for every reading (--tag key=value); a tag the input gives itself wins. */
  tags?: Record<string, string>;
  time: TimeOptions;
  /** Extra null markers (--null); empty, NA and null always are. */
  nulls: string[];
  maxFutureMs: number;
  ranges: Map<string, { min: number; max: number }>;
  /** --text-metrics: metrics (wide columns, keys) stored as events whatever their values look like. */
  textMetrics?: string[];
  /**
   * Whether text and boolean values are stored as events (the store has an events table; set by ingest).
   * Without it a text column is not a metric, a text value is rejected and a boolean is 1 or 0, as before
   * the events table existed.
   */
  events?: boolean;
}

/** How a metric's values are stored, decided by its first non-null value (or by --text-metrics). */
export const ValueKind = { Undecided: 0, Number: 1, Event: 2 } as const;
export type ValueKind = (typeof ValueKind)[keyof typeof ValueKind];

export interface UnitDefaults {
  byMetric: Map<string, string>;
  /** For every metric without its own. */
  all?: string;
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
  /** A text or boolean value, stored in iotctl.events (only called when MapOptions.events is set). */
  event(
    device: string,
    metric: string,
    us: number,
    value: string,
    level: string | null,
    payload: string | null,
    unit: string | null,
    tags: string | null,
  ): void;
  reject(reason: RejectReason, detail: string, count: number): void;
  nulls(count: number): void;
}

export const aliases: Record<'time' | 'device_id' | 'metric' | 'value' | 'unit' | 'tags', string[]> = {
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

export const norm = (s: string) => s.trim().toLowerCase();

/** The column for `field` among `names`: --map first, then the aliases; undefined when absent. */
export function findColumn(
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
/** 10000-01-01T00:00:00Z: times are read up to the end of the year 9999. */
const END_US = 253_402_300_800_000_000;

/** Validation shared by every format: numbers, nulls, time limits, ranges. */
export class Validator {
  private readonly nullText: Set<string>;
  private readonly nullNumbers: number[];
  /** No null marker starts with a digit (and none is a number): a value starting with one is not null. */
  private readonly digitFree: boolean;
  /** Nor does any start with a minus sign: a plain decimal (see plainNumberIn) is never a null marker. */
  private readonly plainFree: boolean;
  readonly parseTime: TimeParser;
  /** The --max-future cutoff, moved on with the clock when a time passes it (a stdin ingest runs for days). */
  private latestUs: number;
  private readonly units?: UnitDefaults;
  /** --tag as JSON text, and the last input tags merged with it (long files repeat them row after row). */
  private readonly constTags?: string;
  private mergedTags = { from: '', to: '' };
  /** Whether text and boolean values become events (see MapOptions.events). */
  readonly events: boolean;
  /** metric → how its values are stored, for long files and NDJSON (wide CSV columns decide in the mapper). */
  private readonly kinds = new Map<string, ValueKind>();
  private lastKind: { metric: string; kind: ValueKind } = { metric: '', kind: ValueKind.Undecided };

  constructor(readonly opts: MapOptions) {
    this.events = opts.events === true;
    if (this.events) for (const m of opts.textMetrics ?? []) this.kinds.set(m, ValueKind.Event);
    this.nullText = new Set(['', 'na', 'n/a', 'null', 'none', ...opts.nulls.map(norm)]);
    this.nullNumbers = opts.nulls.map((n) => Number(n.replace(',', '.'))).filter((n) => n === n && n !== 0);
    this.digitFree = this.nullNumbers.length === 0 && ![...this.nullText].some((t) => /^\d/.test(t));
    this.plainFree = this.digitFree && ![...this.nullText].some((t) => t.startsWith('-'));
    this.parseTime = makeTimeParser(opts.time);
    this.latestUs = (Date.now() + opts.maxFutureMs) * 1000;
    if (opts.units && (opts.units.byMetric.size > 0 || opts.units.all !== undefined)) this.units = opts.units;
    if (opts.tags && Object.keys(opts.tags).length > 0) this.constTags = JSON.stringify(opts.tags);
  }

  /** The input's tags with the --tag ones added (the input's own win). */
  private withConstTags(tags: string | null, constTags: string): string {
    if (tags === null) return constTags;
    if (tags === this.mergedTags.from) return this.mergedTags.to;
    let merged = tags;
    try {
      const own = JSON.parse(tags) as unknown;
      if (own !== null && typeof own === 'object' && !Array.isArray(own))
        merged = JSON.stringify({ ...this.opts.tags, ...own });
    } catch {
      // Not JSON: left as it is, for the tags check to reject.
    }
    this.mergedTags = { from: tags, to: merged };
    return merged;
  }

  isNull(text: string): boolean {
    // Most values start with a digit: no marker does unless --null gave one, so those need no lookup.
    const c = text.charCodeAt(0);
    if (c >= 48 && c <= 57 && this.digitFree) return false;
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
    if (Number.isFinite(n)) {
      // Number() also reads 0x1A, 0b11 and 0o7 (JavaScript literals, not readings).
      if (t.length > 2 && t.charCodeAt(0) === 48) {
        const c = t.charCodeAt(1) | 32;
        if (c === 120 || c === 98 || c === 111) return 'bad_value';
      }
      return n;
    }
    return /^[+-]?(nan|inf|infinity)$/i.test(t) ? 'not_finite' : 'bad_value';
  }

  /** The text of the last time that could not be read (for the message when none could). */
  unreadTime = '';

  /** Checks a parsed time; null when it is fine. */
  timeProblem(us: number | null, text: string): [RejectReason, string] | null {
    if (us === null || !Number.isFinite(us)) {
      this.unreadTime = text;
      return ['bad_time', `cannot read time '${text}'`];
    }
    if (us < MIN_US) return ['bad_time', `time ${text} is before the year 1`];
    if (us > this.latestUs) {
      this.latestUs = (Date.now() + this.opts.maxFutureMs) * 1000;
      if (us > this.latestUs) return ['future_time', `time ${text} is more than --max-future ahead`];
    }
    if (us >= END_US) return ['bad_time', `time ${text} is after the year 9999`];
    return null;
  }

  /** The last series fields found storable (long files repeat them row after row). */
  private checked = { device: '', metric: '', unit: '', tags: '' };

  /** Why a reading's series cannot be stored (too long, not valid Unicode, bad tags), or null. */
  private seriesProblem(
    device: string,
    metric: string,
    unit: string | null,
    tags: string | null,
    escapes: boolean,
  ): [RejectReason, string] | null {
    const c = this.checked;
    if (device !== c.device) {
      const p = textProblem('device id', device, SERIES_LIMITS.device, escapes);
      if (p) return p;
      c.device = device;
    }
    if (metric !== c.metric) {
      const p = textProblem('metric', metric, SERIES_LIMITS.metric, escapes);
      if (p) return p;
      c.metric = metric;
    }
    if (unit !== null && unit !== c.unit) {
      const p = textProblem('unit', unit, SERIES_LIMITS.unit, escapes);
      if (p) return p;
      c.unit = unit;
    }
    if (tags !== null && tags !== c.tags) {
      const p = tagsProblem(tags);
      if (p) return p;
      c.tags = tags;
    }
    return null;
  }

  /** How `metric`'s values are stored so far (Undecided until its first non-null value). */
  kindOf(metric: string): ValueKind {
    const last = this.lastKind;
    if (last.metric === metric) return last.kind;
    const kind = this.kinds.get(metric) ?? ValueKind.Undecided;
    if (kind !== ValueKind.Undecided) this.lastKind = { metric, kind };
    return kind;
  }

  /** Records a metric's kind (its first non-null value decided it); bounded like the NDJSON key memory. */
  decide(metric: string, kind: ValueKind): void {
    if (this.kinds.size < MAX_KINDS) this.kinds.set(metric, kind);
    this.lastKind = { metric, kind };
  }

  /** The kind a first non-null value gives its metric: text that is not a number, or a boolean, is an event. */
  kindOfValue(valueIn: unknown): ValueKind {
    if (typeof valueIn === 'boolean') return ValueKind.Event;
    if (typeof valueIn === 'string' && this.number(valueIn) === 'bad_value') return ValueKind.Event;
    return ValueKind.Number;
  }

  /**
   * Validates one value and hands it to the sink as a reading or (with events on) an event, by the value: a
   * number is a reading; text that is not a number, or a boolean, is an event, unless its metric has held a
   * number in this input (then text is a rejected reading and a boolean 1 or 0, as without events);
   * --text-metrics makes every value of a metric an event. (Wide CSV columns are judged whole: see csvMapper.)
   */
  emit(
    sink: MapSink,
    device: string,
    metric: string,
    us: number,
    valueIn: unknown,
    unit: string | null,
    tags: string | null,
    escapes = false,
    level: string | null = null,
    payload: string | null = null,
  ) {
    if (this.events) {
      const kind = this.kindOf(metric);
      if (kind === ValueKind.Event)
        return this.emitEvent(sink, device, metric, us, valueIn, unit, tags, escapes, level, payload);
      if (kind === ValueKind.Undecided) {
        if (typeof valueIn === 'boolean' || (typeof valueIn === 'string' && this.isText(valueIn)))
          return this.emitEvent(sink, device, metric, us, valueIn, unit, tags, escapes, level, payload);
        if (typeof valueIn === 'number' || (typeof valueIn === 'string' && !this.isNull(valueIn)))
          this.decide(metric, ValueKind.Number);
      }
    }
    this.emitNumber(sink, device, metric, us, valueIn, unit, tags, escapes);
  }

  /** Text that is neither a null marker nor a number (NaN and Infinity count as numbers: rejected readings). */
  private isText(text: string): boolean {
    return !this.isNull(text) && this.number(text) === 'bad_value';
  }

  /** Validates one event (text, a boolean, or a number in an event metric) and hands it to the sink. */
  emitEvent(
    sink: MapSink,
    device: string,
    metric: string,
    us: number,
    valueIn: unknown,
    unit: string | null,
    tags: string | null,
    escapes = false,
    level: string | null = null,
    payload: string | null = null,
  ) {
    if (valueIn === null || valueIn === undefined) return sink.nulls(1);
    let value: string;
    if (typeof valueIn === 'string') {
      if (this.isNull(valueIn)) return sink.nulls(1);
      value = valueIn.trim();
    } else if (typeof valueIn === 'boolean' || typeof valueIn === 'number') value = String(valueIn);
    else return sink.reject('bad_value', `${shortName(metric)}: not a text value: ${short(valueIn)}`, 1);
    if (this.units !== undefined && unit === null)
      unit = this.units.byMetric.get(metric) ?? this.units.all ?? null;
    if (this.constTags !== undefined) tags = this.withConstTags(tags, this.constTags);
    if (
      device.includes('\0') ||
      metric.includes('\0') ||
      value.includes('\0') ||
      (level !== null && level.includes('\0')) ||
      (unit !== null && unit.includes('\0')) ||
      (tags !== null && hasNul(tags)) ||
      (payload !== null && hasNul(payload))
    ) {
      return sink.reject('invalid_utf8', `${shortName(metric)}: a NUL character in the event`, 1);
    }
    const sp = this.seriesProblem(device, metric, unit, tags, escapes);
    if (sp) return sink.reject(sp[0], `${shortName(metric)}: ${sp[1]}`, 1);
    const vp =
      textProblem('value', value, EVENT_LIMITS.value, escapes) ??
      (level === null ? null : textProblem('level', level, EVENT_LIMITS.level, escapes)) ??
      (payload === null ? null : payloadProblem(payload));
    if (vp) return sink.reject(vp[0], `${shortName(metric)}: ${vp[1]}`, 1);
    sink.event(device, metric, us, value, level, payload, unit, tags);
  }

  /**
   * The value emitNumber would store for `text` as a reading of `metric`, when it would store one: not a
   * null marker, a finite number, not a --null number, inside the metric's --range. Undefined otherwise
   * (the caller then takes emitNumber's path, which says why). For fast paths that know the series is fine.
   */
  plainNumber(text: string, metric: string): number | undefined {
    if (this.isNull(text)) return undefined;
    const value = this.number(text);
    if (typeof value !== 'number' || this.nullNumbers.includes(value)) return undefined;
    const range = this.opts.ranges.get(metric);
    if (range && (value < range.min || value > range.max)) return undefined;
    return value;
  }

  /**
   * plainNumber of `text.slice(start, end)`, reading a plain decimal (-?digits[.digits], at most 15 digits)
   * in place: such a number is exactly digits / 10^k (both exact doubles, and division rounds correctly), the
   * same double Number() gives. Anything else goes through plainNumber.
   */
  plainNumberIn(text: string, start: number, end: number, metric: string): number | undefined {
    let i = start;
    const negative = text.charCodeAt(i) === 45;
    if (negative) i++;
    let digits = 0;
    let mantissa = 0;
    let scale = 0;
    let dot = -1;
    for (; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c >= 48 && c <= 57) {
        mantissa = mantissa * 10 + (c - 48);
        digits++;
        if (dot >= 0) scale++;
      } else if (c === 46 && dot < 0 && digits > 0) dot = i;
      else break;
    }
    if (i !== end || digits === 0 || digits > 15 || !this.plainFree)
      return this.plainNumber(text.slice(start, end), metric);
    let value = scale === 0 ? mantissa : mantissa / POWERS_OF_TEN[scale]!;
    if (negative) value = -value;
    const range = this.opts.ranges.get(metric);
    if (range && (value < range.min || value > range.max)) return undefined;
    return value;
  }

  /** Validates one numeric value and hands it to the sink (the readings' path, unchanged by events). */
  emitNumber(
    sink: MapSink,
    device: string,
    metric: string,
    us: number,
    valueIn: unknown,
    unit: string | null,
    tags: string | null,
    /** The strings came from a JSON line with \uD800-\uDFFF escapes, so may hold lone surrogates. */
    escapes = false,
  ) {
    let value: number | RejectReason;
    if (valueIn === null || valueIn === undefined) return sink.nulls(1);
    if (this.units !== undefined && unit === null)
      unit = this.units.byMetric.get(metric) ?? this.units.all ?? null;
    if (this.constTags !== undefined) tags = this.withConstTags(tags, this.constTags);
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
    // Most readings have a short device id and metric and no unit or tags: nothing more to check.
    if (escapes || unit !== null || tags !== null || device.length > SHORT || metric.length > SHORT) {
      const sp = this.seriesProblem(device, metric, unit, tags, escapes);
      if (sp) return sink.reject(sp[0], `${shortName(metric)}: ${sp[1]}`, 1);
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

/** 10^0 … 10^15, exact doubles. */
const POWERS_OF_TEN = Array.from({ length: 16 }, (_, k) => 10 ** k);

/** Metrics whose kind is remembered (a file of random metric names must not grow memory). */
const MAX_KINDS = 100_000;

/** A payload is stored as jsonb: an object, not too long, not nested too deep, valid Unicode. */
function payloadProblem(payload: string): [RejectReason, string] | null {
  const p = tagsProblem(payload);
  if (p) return [p[0] === 'bad_tags' ? 'bad_payload' : p[0], p[1].replace(/tags/g, 'payload')];
  return null;
}

const hasNul = (json: string) => json.includes('\0') || json.includes('\\u0000');

function short(v: unknown): string {
  // JSON numbers beyond a double (1e400) arrive as ±Infinity, which JSON.stringify would show as null.
  if (typeof v === 'number' && !Number.isFinite(v)) return `${v} (beyond ±1.8e308)`;
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 40 ? s.slice(0, 40) + '…' : s;
}

const shortName = (name: string) => (name.length > 40 ? name.slice(0, 40) + '…' : name);

/**
 * A lone surrogate is not Unicode, and UTF-8 cannot carry it. Decoded bytes never hold one: only a JSON
 * escape such as \ud800 makes one, so strings are searched only when their line has such an escape.
 */
const LONE_SURROGATE = /\p{Cs}/u;
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/** Whether a JSON line has a \uD800-\uDFFF escape (so its strings may hold lone surrogates). */
export const hasSurrogateEscape = (raw: string) => raw.includes('\\u') && SURROGATE_ESCAPE.test(raw);

function textProblem(
  what: string,
  text: string,
  max: number,
  escapes: boolean,
): [RejectReason, string] | null {
  if (text.length * 3 > max && Buffer.byteLength(text) > max)
    return ['too_long', `the ${what} is ${Buffer.byteLength(text)} bytes long (at most ${max})`];
  if (escapes && LONE_SURROGATE.test(text))
    return ['invalid_utf8', `the ${what} is not valid Unicode (a lone surrogate)`];
  return null;
}

function openings(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 123 || c === 91) n++;
  }
  return n;
}

/** Tags are stored as jsonb: PostgreSQL refuses lone surrogates and very deep nesting there. */
function tagsProblem(tags: string): [RejectReason, string] | null {
  if (tags.length * 3 > SERIES_LIMITS.tags && Buffer.byteLength(tags) > SERIES_LIMITS.tags)
    return ['too_long', `the tags are ${Buffer.byteLength(tags)} bytes long (at most ${SERIES_LIMITS.tags})`];
  // Tags text is JSON: a lone surrogate in it is an escape (JSON.stringify writes them so).
  if (!SURROGATE_ESCAPE.test(tags) && openings(tags) <= MAX_TAGS_DEPTH) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(tags);
  } catch {
    return ['bad_tags', 'tags is not a JSON object'];
  }
  const walk = (v: unknown, depth: number): [RejectReason, string] | null => {
    if (depth > MAX_TAGS_DEPTH) return ['bad_tags', `tags nested deeper than ${MAX_TAGS_DEPTH} levels`];
    if (typeof v === 'string')
      return LONE_SURROGATE.test(v)
        ? ['invalid_utf8', 'the tags are not valid Unicode (a lone surrogate)']
        : null;
    if (v === null || typeof v !== 'object') return null;
    for (const [k, x] of Object.entries(v)) {
      const p = walk(k, depth) ?? walk(x, depth + 1);
      if (p) return p;
    }
    return null;
  };
  return walk(parsed, 0);
}

/** Maps one record (CSV fields, or the raw line for NDJSON) to readings, rejects and nulls. */
export type RecordMapper = (fields: string[], raw: string, sink: MapSink) => void;
