// `query agg` chooses among the exact plans by the planner's row estimates, every plan it may choose equals
// raw data, and its rows stream from a cursor: json and csv byte for byte what printing the whole result gave.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { printAgg } from '../../src/output/query.js';
import { renderCsv, renderJson, type Column } from '../../src/output/render.js';
import {
  collectAgg,
  planAgg,
  queryAgg,
  runAgg,
  streamAgg,
  type AggOptions,
  type AggResult,
  type AggRow,
} from '../../src/query/agg.js';
import type { Store } from '../../src/db/store.js';
import type { Db, Tx } from '../../src/db/types.js';
import { parseDuration } from '../../src/util/duration.js';
import { makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';
import {
  addSeries,
  at,
  basic,
  expectSameAggregates,
  fromRaw,
  initStore,
  refreshRollups,
} from './query-data.js';

const DEVICES = 40;
const noisy = `20 + 5 * sin(i / 100.0) + ((i * 7919) % 13) / 10.0`;
const opts = (every: string, from: number, to: number, over: Partial<AggOptions> = {}): AggOptions => ({
  filter: { metric: 'temp' },
  range: { since: at(from), until: at(to) },
  every: parseDuration(every),
  fns: basic,
  ...over,
});

/** What stdout receives while fn runs. */
async function stdoutOf(fn: () => Promise<void>): Promise<string> {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    await fn();
  } finally {
    spy.mockRestore();
  }
  return chunks.join('');
}

/** The db with every FETCH of a transaction counted. */
function countingFetches(db: Db): { db: Db; fetches: () => number } {
  let n = 0;
  const counted = Object.create(db) as Db;
  counted.transaction = <T>(fn: (tx: Tx) => Promise<T>) =>
    db.transaction((tx) =>
      fn({
        ...tx,
        query: (sql, values) => {
          if (typeof sql === 'string' && sql.startsWith('FETCH')) n++;
          return tx.query(sql, values);
        },
      }),
    );
  return { db: counted, fetches: () => n };
}

describe.each(targetKinds)('query agg cost choice and streaming on the %s target', (kind) => {
  let target: TestTarget;
  let db: Db;
  let store: Store;
  beforeAll(async () => {
    target = await makeTarget(kind);
    db = await target.open();
    store = await initStore(db);
    // Two days of one reading every 5 minutes: rollup_1m holds as many rows as the raw table.
    for (let d = 0; d < DEVICES; d++) {
      await addSeries(db, store, {
        device: `dev-${String(d).padStart(2, '0')}`,
        metric: 'temp',
        unit: '°C',
        first: 0,
        last: 2 * 1440 - 1,
        valueSql: noisy,
        skip: 'i % 5 <> 0',
      });
    }
    await refreshRollups(db, store, at(2 * 1440));
    // The choice rests on planner estimates: analyzed here, not whenever a server's autovacuum gets to it
    // (on the TimescaleDB server rollup_1m was sometimes estimated below raw and chosen).
    await db.exec('ANALYZE');
  });
  afterAll(async () => {
    await db?.close();
    await target?.cleanup();
  });

  it('regression: 24h --every 15m over 5-minute readings read rollup_1m, as big as raw data and slower; it reads raw', async () => {
    const q = opts('15m', 1440, 2 * 1440);
    const res = await queryAgg(db, q);
    expect(res.sources.map((s) => s.source)).toEqual(['raw']);
    expect(res.sources[0]?.reason).toMatch(
      /^raw data is the cheapest exact source: about [\d,]+ rows to read, against [\d,]+ with rollup_1m \(planner estimates; a rollup row counts as 1\.25 readings\)$/,
    );
    const [raw, rollup] = res.costs;
    expect(raw).toMatchObject({ source: 'raw' });
    expect(rollup).toMatchObject({ source: 'rollup_1m' });
    // About the same number of rows (one reading per minute bucket), so the narrower raw rows win.
    expect(rollup!.rows / raw!.rows).toBeGreaterThan(0.8);
    expect(rollup!.rows / raw!.rows).toBeLessThanOrEqual(1);
    expect(res.rows).toHaveLength(DEVICES * 96);
    expectSameAggregates(res, await fromRaw(db, q));
  });

  it('--every 1h reads rollup_1h and --explain gives the estimates that decided it', async () => {
    const res = await queryAgg(db, opts('1h', 1440, 2 * 1440));
    expect(res.sources.map((s) => s.source)).toEqual(['rollup_1h']);
    expect(res.sources[0]?.reason).toMatch(
      /^--every 1h is a whole multiple of 1h; the cheapest exact source: about [\d,]+ rows to read, against [\d,]+ with rollup_1m, [\d,]+ with raw \(planner estimates\)$/,
    );
    expect(res.costs.map((c) => c.source)).toEqual(['rollup_1h', 'rollup_1m', 'raw']);
    // One row per series and hour against twelve readings an hour.
    expect(res.costs[0]!.rows).toBeLessThan(res.costs[2]!.rows / 5);
  });

  it.each([
    ['1h', 1440 + 17.5, 2 * 1440 - 3.25],
    ['1d', 30, 2 * 1440],
    ['15m', 0, 2 * 1440],
    ['5m', 607, 1900],
    ['1m', 0.5, 100],
  ])(
    'every plan agg may choose for --every %s over minutes %s..%s equals raw data',
    async (every, from, to) => {
      const q = opts(every, 0, 0, {
        range: {
          since: new Date(at(0).getTime() + from * 60_000),
          until: new Date(at(0).getTime() + to * 60_000),
        },
      });
      const plan = await planAgg(db, q);
      expect(plan.candidates.length).toBeGreaterThan(1);
      const raw = await fromRaw(db, q);
      for (const segments of plan.candidates) {
        const res = await runAgg(db, plan, collectAgg, segments);
        expect(res.sources).toBe(segments);
        expectSameAggregates(res, raw);
      }
    },
  );

  it('rows stream page by page: the first page arrives after it and the next were fetched, whatever the total', async () => {
    const q = opts('15m', 0, 2 * 1440, { fns: ['avg', 'count'], pageSize: 50 });
    const { db: counted, fetches } = countingFetches(db);
    const seen = await streamAgg(counted, q, async (res) => {
      const first: AggRow[] = [];
      for await (const page of res.pages) {
        expect(page).toHaveLength(50);
        if (first.length === 0) expect(fetches()).toBe(2);
        first.push(...page);
        if (first.length === 150) break;
      }
      return first;
    });
    expect(seen).toHaveLength(150);
    expect(fetches()).toBe(4);
    // Stopping early ended the transaction cleanly: the next query runs, and paging gives every row once.
    const paged = await queryAgg(db, q);
    const whole = await queryAgg(db, { ...q, pageSize: undefined });
    expect(paged.rows).toHaveLength(DEVICES * 2 * 96);
    expect(paged.rows).toEqual(whole.rows);
    expect(seen).toEqual(whole.rows.slice(0, 150));
  });

  it('a result of a few pages is read with one statement, not a cursor', async () => {
    const { db: counted, fetches } = countingFetches(db);
    const res = await streamAgg(counted, opts('1h', 0, 2 * 1440, { pageSize: 1000 }), collectAgg);
    expect(res.rows).toHaveLength(DEVICES * 48);
    expect(fetches()).toBe(0);
  });

  /** What printAgg printed for this result before rows streamed: the whole result rendered at once. */
  const wholeJson = (res: AggResult, explain: boolean) => {
    const { sources, warnings: _w, costs: _c, ...rest } = res;
    return renderJson(explain ? { ...rest, explain: sources } : rest);
  };

  it('--json streams byte for byte the document printing the whole result gave, with and without --explain', async () => {
    for (const [q, explain] of [
      [opts('1h', 30, 2 * 1440 - 7, { fns: ['avg', 'p95', 'count'], pageSize: 64 }), true],
      [opts('1d', 0, 2 * 1440, { fns: ['stddev', 'min'], pageSize: 7 }), false],
      // No readings in the range: the document with empty rows.
      [opts('1h', 10 * 1440, 10 * 1440 + 60), true],
    ] as const) {
      const res = await queryAgg(db, q);
      const streamed = await stdoutOf(() => streamAgg(db, q, (s) => printAgg('json', s, false, explain)));
      expect(streamed).toBe(wholeJson(res, explain));
    }
  });

  it('--format csv streams the same lines as the whole result gave; a table holds a limited number of rows', async () => {
    const q = opts('1h', 0, 2 * 1440, { fns: ['max', 'count'], pageSize: 100 });
    const res = await queryAgg(db, q);
    const columns = ['time', 'device', 'metric', 'max', 'count', 'unit'].map((key) => ({
      key,
    })) as Column<AggRow>[];
    const csv = await stdoutOf(() => streamAgg(db, q, (s) => printAgg('csv', s, false, false)));
    expect(csv).toBe(renderCsv(res.rows, columns));
    expect(csv.split('\n')).toHaveLength(DEVICES * 48 + 2);

    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const table = await stdoutOf(() => streamAgg(db, q, (s) => printAgg('table', s, false, false, 30)));
      expect(table.match(/│ 2026-01-0\dT[\d:.]+Z │ dev-00 +│ temp/g)).toHaveLength(30);
      expect(table).not.toMatch(/dev-01/);
      expect(stderr.mock.calls.map((c) => String(c[0]))).toEqual([
        'warning: the table shows the first 30 rows; use --format csv or json for all of them\n',
      ]);
    } finally {
      stderr.mockRestore();
    }
  });
});

describe.each(targetKinds)(
  'query agg cost choice with statistics older than the newest rows on the %s target',
  (kind) => {
    const SERIES = 100;
    let target: TestTarget;
    let db: Db;
    let store: Store;
    /** One reading every 5 seconds for every series, for minutes [from, to) after T0. */
    const dense = (from: number, to: number) =>
      db.query(
        `INSERT INTO iotctl.points (time, series_id, value)
       SELECT t, s.id, s.id + extract(epoch FROM t)::bigint % 17
         FROM generate_series($1::timestamptz, $2::timestamptz - interval '5 seconds', interval '5 seconds') t
        CROSS JOIN iotctl.series s`,
        [at(from), at(to)],
      );
    beforeAll(async () => {
      target = await makeTarget(kind);
      db = await target.open();
      store = await initStore(db);
      await db.query(
        `INSERT INTO iotctl.series (device_id, metric) SELECT 'd' || g, 'temp' FROM generate_series(1, $1::int) g`,
        [SERIES],
      );
      await addSeries(db, store, {
        device: 'd1',
        metric: 'temp',
        first: 0,
        last: 0,
        valueSql: '0',
        skip: 'true',
      });
      await dense(0, 240);
      await refreshRollups(db, store, at(240));
      // An hour more, rolled up but not analyzed yet: the planner's statistics of points end at minute 240.
      await dense(240, 300);
      await refreshRollups(db, store, at(300), false);
    });
    afterAll(async () => {
      await db?.close();
      await target?.cleanup();
    });

    it('the newest hour is not taken for cheap raw data: rollup_1m answers, raw estimated at its readings per row', async () => {
      const q = opts('5m', 240, 300);
      const res = await queryAgg(db, q);
      expect(res.sources.map((s) => s.source)).toEqual(['rollup_1m']);
      const raw = res.costs.find((c) => c.source === 'raw');
      // Twelve readings per rollup_1m row in the whole tables (fewer as estimated: the refreshes leave dead
      // rows); the planner alone puts the raw rows of this hour near zero.
      expect(raw!.rows).toBeGreaterThan(4 * res.costs[0]!.rows);
      expect(res.rows).toHaveLength(SERIES * 12);
      expect(res.rows.every((r) => r.count === 60)).toBe(true);
    });
  },
);
