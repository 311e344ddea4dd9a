// Printers for events: `query events` rows (a table, or streamed json/ndjson/csv like `query raw`), and the
// counts and state durations `query agg` gives for an event metric.
import type { EventRow } from '../query/events.js';
import type { StateAggResult, StateRow } from '../query/states.js';
import { csvHeader, csvLine, printRows, writeOut, type Column, type RowFormat } from './render.js';

const eventColumns: Column<EventRow>[] = [
  { key: 'time' },
  { key: 'device' },
  { key: 'metric' },
  { key: 'value' },
  { key: 'level' },
  { key: 'payload' },
];

/** Streams json, ndjson and csv in page-sized writes; a table needs every row before it is drawn. */
export async function printEvents(
  format: RowFormat,
  rows: AsyncIterable<EventRow>,
  header: object,
): Promise<void> {
  if (format === 'table') {
    const all: EventRow[] = [];
    for await (const r of rows) all.push(r);
    return printRows('table', all, eventColumns);
  }
  let buf =
    format === 'csv'
      ? csvHeader(eventColumns)
      : format === 'json'
        ? JSON.stringify(header).slice(0, -1) + ',"rows":['
        : '';
  let first = true;
  for await (const r of rows) {
    if (format === 'csv') buf += csvLine(r, eventColumns);
    else if (format === 'ndjson') buf += JSON.stringify(r) + '\n';
    else buf += `${first ? '\n' : ',\n'}${JSON.stringify(r)}`;
    first = false;
    if (buf.length > 65_536) {
      await writeOut(buf);
      buf = '';
    }
  }
  await writeOut(buf + (format === 'json' ? `${first ? '' : '\n'}]}\n` : ''));
}

const stateColumns: Column<StateRow>[] = [
  { key: 'time' },
  { key: 'device' },
  { key: 'metric' },
  { key: 'value' },
  { key: 'count', align: 'right' },
  { key: 'seconds', align: 'right' },
  { key: 'share', align: 'right', format: (v) => `${(Number(v) * 100).toFixed(1)}%` },
];

/** `query agg` on an event metric: counts and time in each state per bucket; JSON with its header. */
export async function printStateAgg(format: RowFormat, res: StateAggResult): Promise<void> {
  const { rows, ...header } = res;
  if (format === 'json') return writeOut(JSON.stringify({ ...header, kind: 'events', rows }) + '\n');
  if (format === 'ndjson') return writeOut(rows.map((r) => JSON.stringify(r) + '\n').join(''));
  if (format === 'csv')
    return writeOut(csvHeader(stateColumns) + rows.map((r) => csvLine(r, stateColumns)).join(''));
  return printRows('table', rows, stateColumns);
}
