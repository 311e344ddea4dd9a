// Renders command results as a table (cli-table3), JSON, NDJSON or CSV, and is the only writer to stdout.
import Table from 'cli-table3';
import { IotctlError } from '../errors.js';

export type Format = 'table' | 'json' | 'csv';
/**
 * The formats of a command that prints rows (query, anomalies, series): those of every command, and
 * NDJSON, one row a line as a JSON object (the same object as in the `rows` of `--format json`).
 */
export type RowFormat = Format | 'ndjson';

export interface Column<R> {
  key: keyof R & string;
  header?: string;
  align?: 'left' | 'right';
  format?: (value: unknown, row: R) => string;
}

export function formatCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'number')
    return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(10)));
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function renderTable<R>(rows: R[], columns: Column<R>[]): string {
  const table = new Table({
    // Columns all headed '' make a key/value table with no header row.
    head: columns.every((c) => c.header === '') ? [] : columns.map((c) => c.header ?? c.key),
    colAligns: columns.map((c) => c.align ?? 'left'),
    style: { head: [], border: [], compact: true },
  });
  for (const row of rows) {
    table.push(
      columns.map((c) => {
        const v = (row as Record<string, unknown>)[c.key];
        return c.format ? c.format(v, row) : formatCell(v);
      }),
    );
  }
  return table.toString();
}

/** An RFC 4180 field: quoted when it holds a delimiter, a quote, a line break or spaces at an edge. */
export function csvField(text: string): string {
  return /[",\n\r]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** CSV is the machine path: numbers keep every digit (tables round them to 10 significant digits). */
function csvCell(value: unknown): string {
  return typeof value === 'number' ? String(value) : formatCell(value);
}

export function csvHeader<R>(columns: Column<R>[]): string {
  return columns.map((c) => csvField(c.key)).join(',') + '\n';
}

export function csvLine<R>(row: R, columns: Column<R>[]): string {
  return columns.map((c) => csvField(csvCell((row as Record<string, unknown>)[c.key]))).join(',') + '\n';
}

export function renderCsv<R>(rows: R[], columns: Column<R>[]): string {
  return csvHeader(columns) + rows.map((r) => csvLine(r, columns)).join('');
}

export function renderJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

let stdoutClosed = false;
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  stdoutClosed = true;
  process.stdout.emit('drain');
});

/** Writes data or the final result to stdout, respecting backpressure; stops the command once the reader is gone. */
export async function writeOut(text: string | Uint8Array): Promise<void> {
  if (stdoutClosed) throw new IotctlError('OUTPUT_CLOSED', 'stdout was closed');
  if (text.length === 0) return;
  if (!process.stdout.write(text)) {
    await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
  }
  if (stdoutClosed) throw new IotctlError('OUTPUT_CLOSED', 'stdout was closed');
}

/** Renders rows in the chosen format; `json` gives the value of `jsonValue` (the pinned shape). */
export async function printRows<R>(
  format: RowFormat,
  rows: R[],
  columns: Column<R>[],
  jsonValue: unknown = rows,
): Promise<void> {
  if (format === 'json') return writeOut(renderJson(jsonValue));
  if (format === 'ndjson') return writeNdjsonRows(onePage(rows));
  if (format === 'csv') return writeOut(renderCsv(rows, columns));
  return writeOut(rows.length === 0 ? '' : renderTable(rows, columns) + '\n');
}

export function printLine(text: string): Promise<void> {
  return writeOut(text.endsWith('\n') ? text : text + '\n');
}

/**
 * One row as `JSON.stringify(row, null, 2)` prints it at `depth` inside a document (2: an element of a
 * top-level field's array), for rows whose keys are `keys` in that order; faster than re-indenting, and
 * a string field equal to the one of the row before (a series' device, metric, unit) is escaped once.
 */
export function prettyRowJson(keys: string[], depth: number): (row: Record<string, unknown>) => string {
  const pad = ' '.repeat(2 * depth);
  const names = keys.map((k) => `\n${pad}  ${JSON.stringify(k)}: `);
  const close = `\n${pad}}`;
  const lastString = keys.map(() => ({ value: '', text: '""' }));
  return (row) => {
    let out = '';
    for (let i = 0; i < keys.length; i++) {
      const v = row[keys[i] as string];
      let text: string | undefined;
      if (v === null) text = 'null';
      else if (typeof v === 'number') text = Number.isFinite(v) ? String(v) : 'null';
      else if (v instanceof Date) text = Number.isNaN(v.getTime()) ? 'null' : `"${v.toISOString()}"`;
      else if (typeof v === 'string') {
        const last = lastString[i] as { value: string; text: string };
        if (v !== last.value) {
          last.value = v;
          last.text = JSON.stringify(v);
        }
        text = last.text;
      } else text = JSON.stringify(v, null, 2)?.replaceAll('\n', `\n${pad}  `);
      // JSON.stringify leaves out undefined values (and functions) altogether.
      if (text !== undefined) out += (out === '' ? '{' : ',') + names[i] + text;
    }
    return out === '' ? '{}' : out + close;
  };
}

const ROWS_MARK = '\u0000rows';

/**
 * Writes `renderJson({ ...head, rows: [...rows], ...tail })` as the rows arrive (a page at a time), byte
 * for byte the same, in writes of about 64 KiB. `row` renders one row (prettyRowJson at depth 2).
 */
export async function writeJsonRows<R>(
  head: Record<string, unknown>,
  pages: AsyncIterable<R[]>,
  tail: Record<string, unknown>,
  row: (r: R) => string,
): Promise<void> {
  const whole = renderJson({ ...head, rows: [ROWS_MARK], ...tail });
  const mark = JSON.stringify(ROWS_MARK);
  const at = whole.indexOf(mark);
  const before = whole.slice(0, at);
  const between = ',\n' + before.slice(before.lastIndexOf('\n') + 1);
  let buf = '';
  let first = true;
  for await (const page of pages) {
    for (const r of page) {
      buf += (first ? before : between) + row(r);
      first = false;
      if (buf.length > 65_536) {
        await writeOut(buf);
        buf = '';
      }
    }
  }
  if (first) return writeOut(renderJson({ ...head, rows: [], ...tail }));
  await writeOut(buf + whole.slice(at + mark.length));
}

async function* onePage<R>(rows: R[]): AsyncIterable<R[]> {
  yield rows;
}

/** One row as a line of NDJSON; JSON.stringify's own rules (dates as ISO text, no undefined fields). */
export const ndjsonLine = (row: unknown): string => JSON.stringify(row) + '\n';

/** Writes rows as NDJSON as they arrive (a page at a time), in writes of about 64 KiB; no rows, no output. */
export async function writeNdjsonRows<R>(
  pages: AsyncIterable<R[]>,
  line: (r: R) => string = ndjsonLine,
): Promise<void> {
  let buf = '';
  for await (const page of pages) {
    for (const r of page) {
      buf += line(r);
      if (buf.length > 65_536) {
        await writeOut(buf);
        buf = '';
      }
    }
  }
  await writeOut(buf);
}

/** Writes rows as CSV as they arrive (a page at a time), in writes of about 64 KiB. */
export async function writeCsvRows<R>(pages: AsyncIterable<R[]>, columns: Column<R>[]): Promise<void> {
  let buf = csvHeader(columns);
  for await (const page of pages) {
    for (const r of page) {
      buf += csvLine(r, columns);
      if (buf.length > 65_536) {
        await writeOut(buf);
        buf = '';
      }
    }
  }
  await writeOut(buf);
}
