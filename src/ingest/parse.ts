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
  /** The line's bytes, when they are not valid UTF-8 (`raw` then shows U+FFFD in their place). */
  bytes?: Buffer;
  /** CSV: the delimiter, when the record is one line with no quote (splitting `raw` at it gives the fields). */
  sep?: string;
}

/**
 * A CSV record of one line with no quote. Its fields are split when first asked for: the long format's
 * fast path (formats/csv.ts) reads most rows straight from `raw`, and the split was a quarter of the CPU
 * of a 5M-row load.
 */
class PlainCsvLine implements InputRecord {
  bytes?: Buffer;
  private split: string[] | undefined;

  constructor(
    readonly line: number,
    readonly raw: string,
    readonly sep: string,
  ) {}

  get fields(): string[] {
    return (this.split ??= this.raw.split(this.sep));
  }
}

/** Picks the delimiter that splits the first line into the most fields (outside quotes). */
export function sniffDelimiter(head: string): string {
  const line = (
    head
      .replace(/^\uFEFF/, '')
      .split(/\r\n|\r|\n/)
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
 * per row low). Handles a BOM, CRLF or CR-only line ends, blank lines and quoted fields spanning lines. A
 * quote that never closes (within the limits above, or by the end) rejects only its opening line; the
 * lines after it are read again as records, so one stray quote cannot swallow good rows.
 */
export function csvRecordStream(delimiter: string): Transform {
  let line = 0;
  let open: {
    start: number;
    first: string;
    firstBytes?: Buffer;
    lines: Array<[number, string, Buffer | undefined]>;
    bytes: number;
  } | null = null;
  let out: InputRecord[] = [];
  const record = (at: number, raw: string, bytes: Buffer | undefined) => {
    if (open) {
      open.lines.push([at, raw, bytes]);
      open.bytes += raw.length + 1;
      if (endsInsideQuotes(raw, delimiter, true)) {
        if (open.bytes > MAX_QUOTED_BYTES || open.lines.length >= MAX_QUOTED_LINES) reopen();
        return;
      }
      const { start, first, firstBytes, lines } = open;
      open = null;
      const text = [first, ...lines.map((l) => l[1])].join('\n');
      const anyBytes = firstBytes !== undefined || lines.some((l) => l[2] !== undefined);
      return push(
        start,
        text,
        anyBytes
          ? joinLineBytes([[first, firstBytes], ...lines.map((l) => [l[1], l[2]] as const)])
          : undefined,
      );
    }
    if (at === 1) raw = raw.replace(/^\uFEFF/, '');
    if (!raw.includes('"')) return pushPlain(at, raw, bytes);
    if (endsInsideQuotes(raw, delimiter)) {
      open = { start: at, first: raw, firstBytes: bytes, lines: [], bytes: raw.length };
      return;
    }
    push(at, raw, bytes);
  };
  const pushPlain = (at: number, raw: string, bytes: Buffer | undefined) => {
    if (raw.trim() === '') return;
    const rec = new PlainCsvLine(at, raw, delimiter);
    if (bytes) rec.bytes = bytes;
    out.push(rec);
  };
  /** The open quote is stray: reject its line, read the lines it held again. */
  const reopen = () => {
    const { start, first, firstBytes, lines } = open!;
    open = null;
    push(start, first, firstBytes);
    for (const [at, raw, bytes] of lines) record(at, raw, bytes);
  };
  const push = (at: number, raw: string, bytes: Buffer | undefined) => {
    if (raw.trim() === '') return;
    let rec: InputRecord;
    try {
      rec = { line: at, raw, fields: splitCsvRecord(raw, delimiter) };
    } catch (err) {
      rec = { line: at, raw, error: (err as Error).message };
    }
    if (bytes) rec.bytes = bytes;
    out.push(rec);
  };
  const lines = new LineSplitter(
    {
      line: (text, bytes) => record(++line, text, bytes),
      overlong: (head) =>
        out.push({ line: ++line, raw: head, error: `line longer than ${MAX_LINE} characters` }),
    },
    MAX_LINE,
  );
  const take = () => {
    const chunk = out;
    out = [];
    return chunk;
  };
  return new Transform({
    readableObjectMode: true,
    // Each object is a whole chunk of records: buffer few of them, or memory grows with the queue.
    readableHighWaterMark: 2,
    transform(chunk: Buffer, _enc, cb) {
      lines.write(chunk);
      cb(null, take());
    },
    flush(cb) {
      lines.end();
      while (open) reopen();
      cb(null, take());
    },
  });
}

/** The bytes of a record made of several lines, each given by its bytes or (valid UTF-8) its text. */
function joinLineBytes(lines: ReadonlyArray<readonly [string, Buffer | undefined]>): Buffer {
  const parts: Buffer[] = [];
  lines.forEach(([text, bytes], i) => {
    if (i > 0) parts.push(NEWLINE);
    parts.push(bytes ?? Buffer.from(text));
  });
  return Buffer.concat(parts);
}

const NEWLINE = Buffer.from('\n');

/**
 * Splits decoded bytes into lines for the parsers: LF or CRLF line ends, or CR alone (old Mac exports)
 * when the first line end is a lone CR. A line whose text holds U+FFFD (bytes that are not UTF-8) also
 * gets its bytes, for the rejects file; byte positions are only tracked in chunks that have such a line.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private rest = '';
  /** The bytes of `rest` (from the last line end on), joined only when a line needs its bytes. */
  private carry: Buffer[] = [];
  /** The line end, decided by the first one seen. */
  private sep: '\n' | '\r' | undefined;
  /** Dropping the rest of an over-long line, up to its line end. */
  private skipping = false;

  constructor(
    private readonly to: {
      line(text: string, bytes: Buffer | undefined): void;
      overlong?(head: string): void;
    },
    private readonly maxLine = Infinity,
  ) {}

  write(chunk: Buffer): void {
    const text = this.rest + this.decoder.write(chunk);
    if (this.sep === undefined) {
      const cr = text.indexOf('\r');
      const lf = text.indexOf('\n');
      if (cr >= 0 && (lf < 0 || cr < lf)) {
        // A CR at the very end may be the first half of a CRLF: wait for the next chunk.
        if (cr + 1 < text.length) this.sep = text[cr + 1] === '\n' ? '\n' : '\r';
      } else if (lf >= 0) this.sep = '\n';
      if (this.sep === undefined)
        return this.skipping ? this.keep('', []) : this.keep(text, [...this.carry, chunk]);
    }
    const sep = this.sep;
    const sepByte = sep === '\n' ? 10 : 13;
    // Line ends in the text are line-end bytes of this chunk, one for one (they are never part of a
    // multi-byte character), so a line's bytes can be found by counting them.
    const bytes = text.includes('\uFFFD') ? Buffer.concat([...this.carry, chunk]) : undefined;
    let start = 0;
    let b = 0;
    if (this.skipping) {
      const end = text.indexOf(sep);
      if (end < 0) return this.keep('', []);
      this.skipping = false;
      start = end + 1;
      if (bytes) b = bytes.indexOf(sepByte) + 1;
    }
    for (let end = text.indexOf(sep, start); end >= 0; end = text.indexOf(sep, start)) {
      let lineBytes: Buffer | undefined;
      if (bytes) {
        const e = bytes.indexOf(sepByte, b);
        if (text.lastIndexOf('\uFFFD', end) >= start) lineBytes = bytes.subarray(b, e);
        b = e + 1;
      }
      // CRLF: the CR is not part of the line.
      if (text.charCodeAt(end - 1) === 13 && sep === '\n' && end > start) {
        this.to.line(text.slice(start, end - 1), lineBytes?.subarray(0, lineBytes.length - 1));
      } else this.to.line(text.slice(start, end), lineBytes);
      start = end + 1;
    }
    const whole = bytes ?? chunk;
    const last = whole.lastIndexOf(sepByte);
    const carry = last >= 0 ? [whole.subarray(last + 1)] : bytes ? [bytes] : [...this.carry, chunk];
    this.keep(text.slice(start), carry);
  }

  end(): void {
    const text = this.rest + this.decoder.end();
    if (this.skipping || text === '') return;
    this.emit(text, text.includes('\uFFFD') ? Buffer.concat(this.carry) : undefined);
  }

  private keep(rest: string, carry: Buffer[]): void {
    if (rest.length > this.maxLine) {
      this.to.overlong?.(rest.slice(0, 200));
      this.skipping = true;
      rest = '';
      carry = [];
    }
    this.rest = rest;
    this.carry = carry;
  }

  private emit(text: string, bytes: Buffer | undefined): void {
    // CRLF: the CR is not part of the line.
    if (text.endsWith('\r') && this.sep !== '\r') {
      text = text.slice(0, -1);
      if (bytes) bytes = bytes.subarray(0, bytes.length - 1);
    }
    this.to.line(text, bytes);
  }
}

/** CSV records from a byte stream; the delimiter is sniffed from the first line unless given. */
export async function csvRecords(input: Readable, delimiter?: string): Promise<Readable> {
  let stream = input;
  let sep = delimiter;
  if (!sep) {
    // The first line is enough (a slow stdin may send no more for a while).
    const peeked = await peek(input, (h) => h.includes(10) || h.includes(13) || h.length >= 1 << 20);
    stream = peeked.stream;
    sep = sniffDelimiter(peeked.head.toString('utf8'));
  }
  const records = csvRecordStream(sep);
  stream.once('error', (err) => records.destroy(err));
  return stream.pipe(records);
}

/** A transform from NDJSON bytes to arrays of InputRecord (raw line text, blank lines dropped). */
export function ndjsonRecords(): Transform {
  let line = 0;
  let out: InputRecord[] = [];
  const lines = new LineSplitter({
    line: (text, bytes) => {
      line++;
      if (text.trim() === '') return;
      const rec: InputRecord = { line, raw: line === 1 ? text.replace(/^\uFEFF/, '') : text };
      if (bytes) rec.bytes = bytes;
      out.push(rec);
    },
  });
  const take = () => {
    const chunk = out;
    out = [];
    return chunk;
  };
  return new Transform({
    readableObjectMode: true,
    // Each object is a whole chunk of records: buffer few of them, or memory grows with the queue.
    readableHighWaterMark: 2,
    transform(chunk: Buffer, _enc, cb) {
      lines.write(chunk);
      cb(null, take());
    },
    flush(cb) {
      lines.end();
      cb(null, take());
    },
  });
}
