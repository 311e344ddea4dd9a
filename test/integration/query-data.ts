// Test data for the query and anomalies suites, written with SQL (generate_series), independent of ingest.
import { expect } from 'vitest';
import { queryAgg, type AggOptions, type AggResult } from '../../src/query/agg.js';
import { dateBin } from '../../src/db/sql/plain.js';
import { counterColumns, rollupName } from '../../src/db/sql/schema.js';
import { type Store } from '../../src/db/store.js';
import type { Db } from '../../src/db/types.js';

/** A Monday, so it is aligned to every rollup bucket (time_bucket's origin is Monday 2000-01-03). */
export const T0 = Date.UTC(2026, 0, 5);
export const at = (minutes: number) => new Date(T0 + minutes * 60_000);

import { ensurePartitions, initTestStore } from '../helpers/store.js';

export { ensurePartitions, initTestStore as initStore };

/**
 * Adds a series with one reading per minute for minutes [first, last] after T0; `valueSql` is an SQL
 * expression in `i` (the minute), `skip` an SQL condition on `i` for readings that are missing.
 */
export async function addSeries(
  db: Db,
  store: Store,
  s: {
    device: string;
    metric: string;
    unit?: string;
    first: number;
    last: number;
    valueSql: string;
    skip?: string;
  },
): Promise<void> {
  await ensurePartitions(db, store, at(s.first), at(s.last));
  await db.query(
    `INSERT INTO iotctl.series (device_id, metric, unit) VALUES ($1, $2, $3) ON CONFLICT (device_id, metric) DO NOTHING`,
    [s.device, s.metric, s.unit ?? null],
  );
  await db.query(
    `INSERT INTO iotctl.points (time, series_id, value)
     SELECT $1::timestamptz + i * INTERVAL '1 minute', (SELECT id FROM iotctl.series WHERE device_id = $2 AND metric = $3),
            ${s.valueSql}
       FROM generate_series($4::int, $5::int) AS i
      WHERE NOT (${s.skip ?? 'false'})`,
    [new Date(T0), s.device, s.metric, s.first, s.last],
  );
}

/**
 * Materialises the rollups. TimescaleDB: refresh the continuous aggregates, finest first. Plain mode: what
 * `iotctl maintain` does by contract: rebuild each table from the one below, up to `until`, and record the
 * watermark `{"until": ...}` in iotctl.meta (and drop its `dirty:` mark). Then ANALYZE, unless told not to.
 */
export async function refreshRollups(db: Db, store: Store, until: Date, analyze = true): Promise<void> {
  if (store.mode === 'timescaledb') {
    for (const r of store.rollups) {
      // On a TimescaleDB server the scheduler's own refresh policy may be running on the same aggregate:
      // 55P03 "concurrent refresh"; wait for it, as the test means the aggregate refreshed either way.
      for (let attempt = 1; ; attempt++) {
        try {
          await db.query(`CALL refresh_continuous_aggregate('iotctl.${r.name}', NULL, NULL)`);
          break;
        } catch (err) {
          const e = err as { code?: string; cause?: { code?: string } };
          if ((e.cause?.code ?? e.code) !== '55P03' || attempt === 20) throw err;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    }
    // The statistics autovacuum would gather: `agg` chooses its sources by the planner's row estimates.
    if (analyze) await db.query('ANALYZE');
    return;
  }
  let source: string | null = null;
  for (const r of store.rollups) {
    const table = `iotctl.${rollupName(r.bucket)}`;
    await db.query(`DELETE FROM ${table}`);
    const counters = counterColumns(
      source === null ? 'points' : 'rollup',
      source === null ? 'time' : 'bucket',
    );
    const select: string =
      source === null
        ? `SELECT ${dateBin(r.bucket.interval, 'time')}, series_id, count(*), sum(value), min(value), max(value), sum(value * value), ${counters.join(', ')}
             FROM iotctl.points WHERE time < $1 GROUP BY 1, 2`
        : `SELECT ${dateBin(r.bucket.interval, 'bucket')}, series_id, sum(count), sum(sum), min(min), max(max), sum(sumsq), ${counters.join(', ')}
             FROM ${source} WHERE bucket < $1 GROUP BY 1, 2`;
    await db.query(
      `INSERT INTO ${table} (bucket, series_id, count, sum, min, max, sumsq, first, last, increase) ${select}`,
      [until],
    );
    await db.query(
      `INSERT INTO iotctl.meta (key, value) VALUES ($1, jsonb_build_object('until', $2::text))
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [`watermark:${r.name}`, until.toISOString()],
    );
    // A full rebuild is exact everywhere: clear the rollup's dirty mark, as the refresh does by contract.
    await db.query(`DELETE FROM iotctl.meta WHERE key = $1`, [`dirty:${r.name}`]);
    source = table;
  }
  if (analyze) await db.query('ANALYZE');
}

/** The labelled synthetic series for the anomaly suites: minutes 0..479 after T0, analysed over 360..479. */
export const clean = `20 + 2 * sin(2 * pi() * i / 120) + 0.05 * sin(i * 1.7)`;
export const labelled = [
  { device: 'clean', valueSql: clean },
  { device: 'spike', valueSql: `${clean} + CASE WHEN i = 420 THEN 15 ELSE 0 END` },
  { device: 'shift', valueSql: `${clean} + CASE WHEN i >= 460 THEN 15 ELSE 0 END` },
  { device: 'drift', valueSql: `${clean} + CASE WHEN i >= 360 THEN 0.1 * (i - 360) ELSE 0 END` },
  { device: 'stuck', valueSql: `21.5` },
  { device: 'dropout', valueSql: clean, skip: 'i BETWEEN 390 AND 419' },
];

export async function addLabelledSeries(db: Db, store: Store): Promise<void> {
  for (const s of labelled)
    await addSeries(db, store, { ...s, metric: 'temp', unit: '°C', first: 0, last: 479 });
}

/** The aggregates that recombine exactly from rollups. */
export const basic = ['avg', 'min', 'max', 'count', 'sum', 'stddev'];

/** The same query answered from raw data only: a percentile forces the raw path. */
export async function fromRaw(db: Db, opts: AggOptions): Promise<AggResult> {
  const res = await queryAgg(db, { ...opts, fns: [...opts.fns, 'p50'] });
  expect(res.sources.map((s) => s.source)).toEqual(['raw']);
  return res;
}

export function expectSameAggregates(a: AggResult, b: AggResult): void {
  expect(a.rows.length).toBeGreaterThan(0);
  expect(a.rows.length).toBe(b.rows.length);
  a.rows.forEach((row, i) => {
    const other = b.rows[i] as Record<string, unknown>;
    expect([row.time, row.device, row.metric]).toEqual([other.time, other.device, other.metric]);
    for (const fn of basic) {
      if (row[fn] === null) expect(other[fn]).toBeNull();
      else expect(row[fn] as number).toBeCloseTo(other[fn] as number, 8);
    }
  });
}
