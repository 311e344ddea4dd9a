// Splitters from decompressed bytes to input records with line numbers: CSV (a fast RFC 4180 splitter) and
// JSON lines (JSON.parse happens in the format's mapper, so a bad line is a rejected row, not a failed load).
import { Readable, Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { peek } from './source.js';

export interface InputRecord {
  line: number;
  raw: string;
  /** CSV fields. */
  fields?: string[];
  /** A syntax error found by the parser: the record is rejected with this reason. */
  error?: string;
}

/** Picks the delimiter that splits the first line into the most fields (outside quotes). */
export function sniffDelimiter(head: string): string {
  const line = (
    head
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/)
      .find((l) => l.trim() !== '') ?? ''
  ).replace(/"[^"]*"/g, '');
  let best = ',';
  let bestCount = 0;
  for (const d of [',', ';', '\t', '|']) {
    const count = line.split(d).length - 1;
    if (count > bestCount) {
      best = d;
      bestCount = count;
    }
  }
  return best;
}

/**
 * Splits one CSV record (RFC 4180; a quote inside an unquoted field is kept as text, like csv-parse's
 * relax_quotes). Measured on the 500k-row bench file: csv-parse streaming with line info and raw text
 * ~114k rows/s, this ~1M rows/s; test/unit/ingest-parse.test.ts checks it against csv-parse.
 */
export function splitCsvRecord(text: string, delimiter: string): string[] {
  if (!text.includes('"')) return text.split(delimiter);
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) throw new Error('unclosed quoted field');
        value += text.slice(j, q);
        if (text[q + 1] === '"') {
          value += '"';
          j = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      // Text between a closing quote and the delimiter is kept, as csv-parse does with relax_quotes.
      const end = text.indexOf(delimiter, i);
      value += text.slice(i, end < 0 ? text.length : end);
      fields.push(value);
      if (end < 0) return fields;
      i = end + delimiter.length;
    } else {
      const end = text.indexOf(delimiter, i);
      fields.push(text.slice(i, end < 0 ? text.length : end));
      if (end < 0) return fields;
      i = end + delimiter.length;
    }
  }
}

/**
 * True when `text` ends inside a quoted field (one that opened at a field start), so the record goes on.
 * `inQuotes` is the state at its start: continuation lines are scanned once each, not the whole record.
 */
export function endsInsideQuotes(text: string, delimiter: string, inQuotes = false): boolean {
  let fieldStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') i++;
        else inQuotes = false;
      }
      continue;
    }
    if (c === '"' && fieldStart) inQuotes = true;
    fieldStart = c === delimiter;
  }
  return inQuotes;
}

/** A quoted field may span lines up to these limits; past them its opening quote is taken as stray. */
const MAX_QUOTED_BYTES = 64 * 1024;
const MAX_QUOTED_LINES = 1000;
/** A longer line (no newline in sight) is rejected rather than held in memory. */
const MAX_LINE = 1 << 20;

/**
 * A transform from CSV bytes to arrays of InputRecord (one array per chunk, to keep stream overhead
 * per row low). Handles a BOM, CRLF, blank lines and quoted fields spanning lines. A quote that never
 * closes (within the limits above, or by the end) rejects only its opening line; the lines after it are
 * read again as records, so one stray quote cannot swallow good rows.
 */
export function csvRecordStream(delimiter: string): Transform {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let line = 0;
  /** Dropping the rest of an over-long line, up to its newline. */
  let overlong: { line: number; head: string } | null = null;
  let open: { start: number; first: string; lines: Array<[number, string]>; bytes: number } | null = null;
  const take = (out: InputRecord[], raw0: string) => {
    line++;
    record(out, line, raw0.endsWith('\r') ? raw0.slice(0, -1) : raw0);
  };
  const record = (out: InputRecord[], at: number, raw: string) => {
    if (open) {
      open.lines.push([at, raw]);
      open.bytes += raw.length + 1;
      if (endsInsideQuotes(raw, delimiter, true)) {
        if (open.bytes > MAX_QUOTED_BYTES || open.lines.length >= MAX_QUOTED_LINES) reopen(out);
        return;
      }
      const { start, first, lines } = open;
      open = null;
      return push(out, start, [first, ...lines.map((l) => l[1])].join('\n'));
    }
    if (at === 1) raw = raw.replace(/^\uFEFF/, '');
    if (raw.includes('"') && endsInsideQuotes(raw, delimiter)) {
      open = { start: at, first: raw, lines: [], bytes: raw.length };
      return;
    }
    push(out, at, raw);
  };
  /** The open quote is stray: reject its line, read the lines it held again. */
  const reopen = (out: InputRecord[]) => {
    const { start, first, lines } = open!;
    open = null;
    push(out, start, first);
    for (const [at, raw] of lines) record(out, at, raw);
  };
  const push = (out: InputRecord[], at: number, raw: string) => {
    if (raw.trim() === '') return;
    try {
      out.push({ line: at, raw, fields: splitCsvRecord(raw, delimiter) });
    } catch (err) {
      out.push({ line: at, raw, error: (err as Error).message });
    }
  };
  return new Transform({
    readableObjectMode: true,
    // Each object is a whole chunk of records: buffer few of them, or memory grows with the queue.
    readableHighWaterMark: 2,
    transform(chunk: Buffer, _enc, cb) {
      let text = rest + decoder.write(chunk);
      const out: InputRecord[] = [];
      let start = 0;
      if (overlong) {
        const nl = text.indexOf('\n');
        if (nl < 0) return cb(null, out);
        line = overlong.line;
        out.push({ line, raw: overlong.head, error: `line longer than ${MAX_LINE} characters` });
        overlong = null;
        text = text.slice(nl + 1);
      }
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
        take(out, text.slice(start, nl));
        start = nl + 1;
      }
      rest = text.slice(start);
      if (rest.length > MAX_LINE) {
        overlong = { line: line + 1, head: rest.slice(0, 200) };
        rest = '';
      }
      cb(null, out);
    },
    flush(cb) {
      const out: InputRecord[] = [];
      const text = rest + decoder.end();
      if (overlong) {
        line = overlong.line;
        out.push({ line, raw: overlong.head, error: `line longer than ${MAX_LINE} characters` });
      } else if (text !== '') take(out, text);
      while (open) reopen(out);
      cb(null, out);
    },
  });
}

/** CSV records from a byte stream; the delimiter is sniffed from the first line unless given. */
export async function csvRecords(input: Readable, delimiter?: string): Promise<Readable> {
  let stream = input;
  let sep = delimiter;
  if (!sep) {
    // The first line is enough (a slow stdin may send no more for a while).
    const peeked = await peek(input, (h) => h.includes(10) || h.length >= 1 << 20);
    stream = peeked.stream;
    sep = sniffDelimiter(peeked.head.toString('utf8'));
  }
  const records = csvRecordStream(sep);
  stream.once('error', (err) => records.destroy(err));
  return stream.pipe(records);
}

/** A transform from NDJSON bytes to arrays of InputRecord (raw line text, blank lines dropped). */
export function ndjsonRecords(): Transform {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let line = 0;
  const emit = (out: InputRecord[], text: string) => {
    line++;
    const raw = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (raw.trim() !== '') out.push({ line, raw: line === 1 ? raw.replace(/^\uFEFF/, '') : raw });
  };
  return new Transform({
    readableObjectMode: true,
    // Each object is a whole chunk of records: buffer few of them, or memory grows with the queue.
    readableHighWaterMark: 2,
    transform(chunk: Buffer, _enc, cb) {
      const text = rest + decoder.write(chunk);
      const out: InputRecord[] = [];
      let start = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
        emit(out, text.slice(start, nl));
        start = nl + 1;
      }
      rest = text.slice(start);
      cb(null, out);
    },
    flush(cb) {
      const text = rest + decoder.end();
      const out: InputRecord[] = [];
      if (text !== '') emit(out, text);
      cb(null, out);
    },
  });
}
