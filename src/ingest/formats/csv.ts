// CSV: a header line (or --columns), then rows; the header and the first data row choose the mapper
// (long or wide, which columns are time, device and metrics).
import type { Readable } from 'node:stream';
import { usageError } from '../../errors.js';
import {
  findColumn,
  norm,
  type MapOptions,
  type MapSink,
  type RecordMapper,
  type RejectReason,
  type Validator,
  ValueKind,
} from '../mapping.js';
import { csvRecords } from '../parse.js';
import { COMPONENT_NAMES, componentTime } from '../time.js';
import type { InputFormat } from './types.js';

const quoted = (names: string[]) => names.map((h) => JSON.stringify(h)).join(', ');

/** Column names to suggest for a file of `n` columns without a header line. */
function suggestedColumns(n: number): string {
  if (n === 2) return '--columns time,value --device NAME --metric NAME';
  if (n === 3) return '--columns time,device_id,value --metric NAME';
  if (n === 4) return '--columns time,device_id,metric,value';
  const metrics = Array.from({ length: n - 1 }, (_, i) => `m${i + 1}`);
  return `--columns time,${metrics.join(',')} --device NAME`;
}

/**
 * When a header cannot be mapped and its names look like data (a number or a time), the file has no
 * header line: the error points at --columns instead of at the flag the header seemed to lack.
 */
function headerlessError(header: string[], v: Validator) {
  const looksLikeData = header.some(
    (h) => h.trim() !== '' && (v.parseTime(h) !== null || typeof v.number(h) === 'number'),
  );
  if (!looksLikeData) return undefined;
  return usageError(
    `the first line looks like data, not a header (${quoted(header)})`,
    `name the ${header.length} columns of a file without a header line with --columns, e.g. ${suggestedColumns(header.length)}`,
  );
}

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
      throw (
        headerlessError(header, v) ??
        usageError(
          `no time column in the header (${quoted(header)})`,
          'name it with --time COLUMN (or several: --time Date,Time)',
        )
      );
    }
  }
  const columns = names.map((n) => {
    const i = header.indexOf(n) >= 0 ? header.indexOf(n) : lower.indexOf(norm(n));
    if (i < 0)
      throw (
        headerlessError(header, v) ??
        usageError(`--time: no column '${n}'`, `the columns are ${quoted(header)}`)
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
): {
  mapper: RecordMapper;
  fast?: FastPath;
  describe: string;
  readingsPerRow: number;
  timeFrom: string;
} {
  const time = timeReader(header, opts, v);
  const timeNames = time.columns.map((i) => header[i] as string);
  const timeFrom = `${timeNames.length > 1 ? 'columns' : 'column'} ${quoted(timeNames)}`;
  const deviceCol = opts.device === undefined ? findColumn('device_id', header, opts.map) : undefined;
  if (opts.device === undefined && deviceCol === undefined) {
    throw (
      headerlessError(header, v) ??
      usageError(
        'no device column in the header',
        'give a constant with --device NAME or a column with --map device_id=COLUMN',
      )
    );
  }
  const deviceIdx = deviceCol === undefined ? -1 : header.indexOf(deviceCol);
  const metricCol = findColumn('metric', header, opts.map);
  const valueCol = findColumn('value', header, opts.map);
  const wide = opts.wide ?? !(metricCol !== undefined && valueCol !== undefined);
  if (opts.metric !== undefined && !wide) {
    throw usageError(
      `--metric ${opts.metric}: the file has a metric column (${JSON.stringify(metricCol)})`,
      '--metric names the metric of a file with one value column; drop it, or choose a column with --wide --metrics COLUMN',
    );
  }
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
    const tc = time.columns[0]!;
    const fastable =
      ui < 0 && ti < 0 && time.columns.length === 1 && new Set([tc, deviceIdx, mi, vi]).size === 4;
    return {
      mapper,
      fast: fastable ? longFastPath(width, tc, deviceIdx, mi, vi, mapper, v) : undefined,
      readingsPerRow: 1,
      timeFrom,
      describe: `long format: time=${time.columns.map((i) => header[i]).join('+')}, device=${constDevice ?? deviceCol}, metric=${metricCol}, value=${valueCol}`,
    };
  }

  const reserved = new Set<number>([...time.columns, deviceIdx]);
  const textMetrics = v.events ? (opts.textMetrics ?? []) : [];
  const columnOf = (m: string, flag: string) => {
    const i = header.indexOf(m);
    if (i < 0)
      throw usageError(
        `${flag}: no column '${m}'`,
        `the columns are ${header.map((h) => JSON.stringify(h)).join(', ')}`,
      );
    return i;
  };
  const textIdx = new Set(textMetrics.map((m) => columnOf(m, '--text-metrics')));
  let metricIdx: number[];
  if (opts.metrics) {
    metricIdx = opts.metrics.map((m) => columnOf(m, '--metrics'));
    for (const i of textIdx) if (!metricIdx.includes(i)) metricIdx.push(i);
  } else {
    const excluded = new Set(opts.exclude);
    // Unnamed columns (an index column, trailing separators) are not metrics; nor are text columns when the
    // store has no events table.
    metricIdx = header
      .map((_, i) => i)
      .filter((i) => !reserved.has(i) && header[i]!.trim() !== '' && !excluded.has(header[i]!))
      .filter((i) => {
        if (v.events) return true;
        const cell = firstRow[i] ?? '';
        return v.isNull(cell) || typeof v.number(cell) === 'number';
      });
  }
  if (metricIdx.length === 0) throw usageError('no metric columns found', 'name them with --metrics a,b,c');
  // Each column is judged by its first non-null value (here the first row's, or later): a number makes it a
  // metric, text or a boolean word makes it events; --metrics columns are metrics, --text-metrics events.
  const kinds = new Uint8Array(metricIdx.length);
  metricIdx.forEach((i, k) => {
    if (textIdx.has(i)) kinds[k] = ValueKind.Event;
    else if (!v.events || opts.metrics) kinds[k] = ValueKind.Number;
    else {
      const cell = firstRow[i] ?? '';
      kinds[k] = v.isNull(cell) ? ValueKind.Undecided : v.kindOfValue(cell);
    }
  });
  const columnNames = metricIdx.map((i) => header[i]!.trim());
  if (opts.metric !== undefined && metricIdx.length > 1) {
    throw usageError(
      `--metric ${opts.metric} names one value column, and the file has ${metricIdx.length} (${quoted(columnNames)})`,
      'choose one with --metrics COLUMN, or drop --metric: each column is then a metric named after it',
    );
  }
  const metricNames = opts.metric !== undefined ? [opts.metric] : columnNames;
  for (const m of opts.units?.byMetric.keys() ?? []) {
    if (!metricNames.includes(m))
      throw usageError(
        `--unit ${m}=…: no metric '${m}' in this file`,
        `its metrics are ${quoted(metricNames)}`,
      );
  }
  const n = metricIdx.length;
  const mapper: RecordMapper = (f, raw, sink) => {
    const p = rowProblem(f, raw);
    if (p) return sink.reject(p[0], p[1], n);
    const [us, text] = time.read(f);
    const tp = v.timeProblem(us, text);
    if (tp) return sink.reject(tp[0], tp[1], n);
    const device = constDevice ?? (f[deviceIdx] as string).trim();
    if (device === '') return sink.reject('missing_field', 'no device', n);
    for (let k = 0; k < n; k++) {
      const cell = f[metricIdx[k]!] as string;
      let kind = kinds[k];
      if (kind === ValueKind.Undecided) {
        if (v.isNull(cell)) {
          sink.nulls(1);
          continue;
        }
        kinds[k] = kind = v.kindOfValue(cell);
      }
      if (kind === ValueKind.Number)
        v.emitNumber(sink, device, metricNames[k]!, us as number, cell, null, null);
      else v.emitEvent(sink, device, metricNames[k]!, us as number, cell, null, null);
    }
  };
  const eventNames = metricNames.filter((_, k) => kinds[k] === ValueKind.Event);
  return {
    mapper,
    readingsPerRow: n,
    timeFrom,
    describe:
      `wide format: time=${time.columns.map((i) => header[i]).join('+')}, device=${constDevice ?? deviceCol}, metrics=${metricNames.join(',')}` +
      (eventNames.length ? ` (events: ${eventNames.join(',')})` : ''),
  };
}

/** Series a fast path remembers at most (then it starts again: memory stays bounded). */
const MAX_FAST_SERIES = 100_000;

/**
 * The long format's fast path, for lines with no quote: most rows of a long file repeat a series (device and
 * metric) and a time already seen, so the row is read straight from its text (the fields' positions, the
 * series by the text of its device and metric fields, the time by comparison with the last one) instead of
 * split into strings. It answers only for the ordinary row: the number of fields the header has, no U+FFFD, a
 * series the mapper already stored a reading of from the same text, a time already found fine or one the
 * validator finds fine now, a value plainNumberIn accepts. Every other row takes the mapper, which rejects,
 * counts or stores it as before (and teaches the fast path its series): the fast path never rejects.
 * test/unit/ingest-fast-path.test.ts checks that both paths give the same sink calls on lines built to differ.
 */
export interface FastPath {
  /** Maps a line that has no quote when it is an ordinary row; false (nothing done) otherwise. */
  line(raw: string, sep: string, sink: MapSink): boolean;
  /** Maps a row through the mapper; a reading it stores teaches `line` the row's series. */
  learn(fields: string[], raw: string, sep: string | undefined, sink: MapSink): void;
}

/** `deviceCol` is -1 with a constant --device. */
function longFastPath(
  width: number,
  timeCol: number,
  deviceCol: number,
  metricCol: number,
  valueCol: number,
  mapper: RecordMapper,
  v: Validator,
): FastPath {
  type Series = { device: string; metric: string; unit: string | null; tags: string | null };
  // The text of a row's device field → of its metric field → what the mapper stored. Two short keys cost less
  // than one long one (a string of 13 characters or more is sliced, not copied, and hashes slower), and long
  // files usually repeat a device on consecutive rows (several metrics at one time): measured 48 ns a row
  // against 86 ns for one key of both fields.
  let seen = new Map<string, Map<string, Series>>();
  let size = 0;
  let lastDevice = '\u0000';
  let lastMetrics: Map<string, Series> | undefined;
  const starts = new Int32Array(width);
  const ends = new Int32Array(width);
  // The last time text read that the validator found fine (its verdict cannot change: the --max-future
  // cutoff only moves on), and its value.
  let lastTime = '';
  let lastUs = 0;
  let target: MapSink;
  let got: Series | undefined;
  const learning: MapSink = {
    reading: (device, metric, us, value, unit, tags) => {
      got = { device, metric, unit, tags };
      target.reading(device, metric, us, value, unit, tags);
    },
    event: (...args) => target.event(...args),
    reject: (reason, detail, count) => target.reject(reason, detail, count),
    nulls: (count) => target.nulls(count),
  };
  return {
    line(raw, sep, sink) {
      let at = 0;
      for (let k = 0; k < width - 1; k++) {
        const c = raw.indexOf(sep, at);
        if (c < 0) return false;
        starts[k] = at;
        ends[k] = c;
        at = c + sep.length;
      }
      if (raw.indexOf(sep, at) >= 0 || raw.includes('\uFFFD')) return false;
      starts[width - 1] = at;
      ends[width - 1] = raw.length;
      if (deviceCol >= 0) {
        const device = raw.slice(starts[deviceCol]!, ends[deviceCol]!);
        if (device !== lastDevice) {
          lastDevice = device;
          lastMetrics = seen.get(device);
        }
      }
      const series = lastMetrics?.get(raw.slice(starts[metricCol]!, ends[metricCol]!));
      if (series === undefined) return false;
      // A slice and === (63 ns a row with the field positions) beat startsWith (116 ns) here.
      const text = raw.slice(starts[timeCol]!, ends[timeCol]!);
      let us = lastUs;
      if (text !== lastTime) {
        const read = v.parseTime(text);
        if (v.timeProblem(read, text)) return false;
        us = read as number;
        lastTime = text;
        lastUs = us;
      }
      const value = v.plainNumberIn(raw, starts[valueCol]!, ends[valueCol]!, series.metric);
      if (value === undefined) return false;
      sink.reading(series.device, series.metric, us, value, series.unit, series.tags);
      return true;
    },
    learn(fields, raw, sep, sink) {
      if (sep === undefined || fields.length !== width) return mapper(fields, raw, sink);
      target = sink;
      got = undefined;
      mapper(fields, raw, learning);
      if (got === undefined) return;
      if (size >= MAX_FAST_SERIES) {
        seen = new Map();
        size = 0;
      }
      const device = deviceCol >= 0 ? fields[deviceCol]! : '';
      let metrics = seen.get(device);
      if (!metrics) seen.set(device, (metrics = new Map()));
      if (!metrics.has(fields[metricCol]!)) size++;
      metrics.set(fields[metricCol]!, got);
      // The next line looks its device up again.
      lastDevice = '\u0000';
      lastMetrics = deviceCol >= 0 ? undefined : metrics;
    },
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

export const csv: InputFormat = {
  name: 'csv',
  help: 'comma, semicolon, tab or pipe separated, with a header line (or --columns); long or wide',
  isDefault: true,
  detect: () => true,
  records: (input: Readable, opts) => csvRecords(input, opts.delimiter),
  reader(ctx) {
    let header = ctx.columns;
    let mapper: RecordMapper | undefined;
    let fast: FastPath | undefined;
    // A whole-row reject stands for as many readings as the row carries (one per metric column when wide).
    let readingsPerRow = 1;
    return {
      read(rec, sink) {
        if (rec.error) return sink.reject('csv_syntax', rec.error, readingsPerRow);
        if (fast && rec.sep !== undefined && fast.line(rec.raw, rec.sep, sink)) return;
        const fields = rec.fields as string[];
        if (!header) {
          header = fields;
          return;
        }
        // Lines of nothing but separators (trailing junk in spreadsheet exports) are not rows.
        if (fields.every((f) => f.trim() === '')) return;
        if (!mapper) {
          const built = csvMapper(header, fields, ctx.mapping, ctx.validator);
          mapper = built.mapper;
          fast = built.fast;
          readingsPerRow = built.readingsPerRow;
          ctx.describe(built.describe);
          ctx.timeSource(built.timeFrom);
        }
        if (fast) fast.learn(fields, rec.raw, rec.sep, sink);
        else mapper(fields, rec.raw, sink);
      },
    };
  },
};
