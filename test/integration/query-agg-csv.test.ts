// `query agg --format csv` written by the database (COPY) is byte for byte what the row printer writes,
// on awkward names and values; the embedded target, which cannot stream COPY, prints rows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printAgg, printAggCsv } from '../../src/output/query.js';
import { streamAgg, type AggOptions } from '../../src/query/agg.js';
import { streamAggCsv } from '../../src/query/agg-csv.js';
import type { Store } from '../../src/db/store.js';
import type { Db } from '../../src/db/types.js';
import { parseDuration } from '../../src/util/duration.js';
import { makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';
import { addSeries, at, initStore, refreshRollups } from './query-data.js';

/** Everything written to stdout while `fn` runs, as bytes (a chunk may end inside a character). */
async function stdoutOf(fn: () => Promise<unknown>): Promise<string> {
  const chunks: Buffer[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(Buffer.from(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    await fn();
  } finally {
    process.stdout.write = write;
  }
  return Buffer.concat(chunks).toString('utf8');
}

// Values whose text differs between PostgreSQL and JavaScript (exponents, negative zero), the extremes of
// float8, NaN, and sums that only a float8 can hold, one a minute in turn.
const awkward = [
  "'-0'::float8",
  '1e-7',
  '1.5e-5',
  '0.000001',
  '1e21',
  '1e20',
  '123456789012345678901234',
  '0.1',
  '-3.75e-9',
  '2.5e15',
  '1e150',
  '2.5e-150',
  "'NaN'::float8",
  '20.125',
];
const valueSql = `(ARRAY[${awkward.map((v) => `${v}::float8`).join(', ')}])[1 + i % ${awkward.length}]`;

const devices = [
  'plain-1',
  'comma,device',
  'quote"d',
  'line\nbreak',
  'back\\slash',
  ' lead',
  'tab\there',
  'ünï',
];
const units = [undefined, '°C', 'a,b', '', 'x"y', undefined, '\\', 'ü\r'];

describe.each(targetKinds)('query agg --format csv on the %s target', (kind) => {
  let target: TestTarget;
  let db: Db;
  let store: Store;
  beforeAll(async () => {
    target = await makeTarget(kind);
    db = await target.open();
    store = await initStore(db);
    for (const [i, device] of devices.entries()) {
      await addSeries(db, store, {
        device,
        metric: i === 2 ? 'te,mp' : 'temp',
        unit: units[i],
        first: 0,
        last: 2 * 1440 - 1,
        // The plain series: large, ordinary counts; the others cycle through the awkward values.
        valueSql: i === 0 ? '20 + i / 7.0' : valueSql,
        skip: i === 3 ? 'i % 5 = 0' : undefined,
      });
    }
    await refreshRollups(db, store, at(2 * 1440));
  }, 300_000);
  afterAll(async () => {
    await db?.close();
    await target?.cleanup();
  });

  const cases: Array<[string, string, string]> = [
    ['every 1h from rollups', '1h', 'avg,min,max,count,sum,stddev'],
    ['every 1d, rollups and raw at the edges', '1d', 'count,avg,sum'],
    ['every 1m from raw', '1m', 'avg,min,max,count,sum,stddev'],
    ['percentiles from raw', '1h', 'p50,avg,p99.9,count'],
  ];
  it.each(cases)('%s: the same bytes as the row printer', async (_, every, fns) => {
    const opts: AggOptions = {
      filter: {},
      // Not on bucket boundaries: the first and last buckets are partial.
      range: { since: at(17), until: at(2 * 1440 - 23) },
      every: parseDuration(every),
      fns: fns.split(','),
    };
    const rows = await stdoutOf(() => streamAgg(db, opts, (res) => printAgg('csv', res, false, false)));
    let copied = false;
    const csv = await stdoutOf(() =>
      streamAggCsv(
        db,
        opts,
        (res) => printAgg('csv', res, false, false),
        (res) => {
          copied = true;
          return printAggCsv(res, false, false);
        },
      ),
    );
    // The server targets stream COPY; the embedded one could only write a whole Blob, and prints rows.
    expect(copied).toBe(kind !== 'embedded');
    expect(rows.split('\n').length).toBeGreaterThan(devices.length * 2);
    expect(csv).toBe(rows);
  });

  it('an empty range: the header alone, and the notice', async () => {
    const notices: string[] = [];
    const opts: AggOptions = {
      filter: { metric: 'temp' },
      range: { since: at(10 * 1440), until: at(11 * 1440) },
      every: parseDuration('1h'),
      fns: ['avg', 'count'],
      onNotice: (m) => notices.push(m),
    };
    const csv = await stdoutOf(() =>
      streamAggCsv(
        db,
        opts,
        (res) => printAgg('csv', res, false, false),
        (res) => printAggCsv(res, false, false),
      ),
    );
    expect(csv).toBe('time,device,metric,avg,count,unit\n');
    expect(notices).toHaveLength(1);
  });
});
