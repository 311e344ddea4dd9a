// query agg's counters (increase, rate), delta and --window against SQL written here over the raw readings
// (LAG and range conditions), from every exact plan the planner considers (raw alone and each rollup).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectAgg, planAgg, runAgg, type AggOptions, type AggResult } from '../../src/query/agg.js';
import { loadStore, type Store } from '../../src/db/store.js';
import type { Db } from '../../src/db/types.js';
import { parseDuration } from '../../src/util/duration.js';
import { makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';
import { addSeries, at, initStore, refreshRollups } from './query-data.js';
import { init } from '../../src/maintenance/init.js';
import { setPolicy } from '../../src/maintenance/policies.js';
import { initOptions } from '../helpers/store.js';
import { upsertConfig } from '../../src/db/sql/schema.js';
import { serialiseConfig } from '../../src/db/store.js';

// Three days of minute readings. meter-1 drops to zero at minute 1000 and to a lower non-zero value (519.5 ->
// 100) at 2040, an hour boundary, and has no readings 1500..1619; meter-2 rises with jitter that dips.
const meter1 = `CASE WHEN i < 1000 THEN 50 + i * 0.5 WHEN i < 2040 THEN (i - 1000) * 0.5 ELSE 100 + (i - 2040) * 0.25 END`;
const meter2 = `i * 0.3 + ((i * 7919) % 13) / 10.0`;
const DAYS = 3;

/** The increase of each reading: the step from the previous reading of its series, a drop counting from 0. */
const stepSql = `CASE WHEN p.prev IS NULL THEN 0 WHEN p.value < p.prev THEN p.value ELSE p.value - p.prev END`;
const readingSteps = `SELECT r.series_id, r.time, r.value, lag(r.value) OVER (PARTITION BY r.series_id ORDER BY r.time) AS prev
  FROM iotctl.points r`;

async function refreshAll(db: Db, store: Store): Promise<void> {
  // TimescaleDB: the shared helper (it waits out the server scheduler's own refresh); elsewhere the engine's
  // refresh, which fills the counter columns (the helper's rebuild of plain rollups writes the sums only).
  if (store.mode === 'timescaledb') return refreshRollups(db, store, at(DAYS * 1440));
  for (const r of store.rollups) await store.engine.refreshRollup(db, store, r, { all: true });
  await db.query('ANALYZE');
}

/** Every exact plan the planner considered, each run: coarsest rollup first, raw data alone last. */
async function everyPlan(db: Db, opts: AggOptions): Promise<Array<{ sources: string[]; res: AggResult }>> {
  const plan = await planAgg(db, opts);
  const out = [];
  for (const segments of plan.candidates) {
    const res = await runAgg(db, plan, collectAgg, segments);
    out.push({ sources: segments.map((s) => s.source), res });
  }
  return out;
}

type Oracle = Map<string, Record<string, number | null>>;
const key = (device: string, t: Date) => `${device}@${t.toISOString()}`;

function expectMatches(res: AggResult, oracle: Oracle, columns: string[]): void {
  const got = new Set(res.rows.map((r) => key(r.device, r.time)));
  expect([...oracle.keys()].filter((k) => !got.has(k))).toEqual([]);
  expect(res.rows.length).toBe(oracle.size);
  for (const row of res.rows) {
    const want = oracle.get(key(row.device, row.time));
    expect(want, key(row.device, row.time)).toBeDefined();
    for (const c of columns) {
      const got = row[c] === null || row[c] === undefined ? null : Number(row[c]);
      if (want![c] === null) expect(got, `${c} ${key(row.device, row.time)}`).toBeNull();
      else expect(got, `${c} ${key(row.device, row.time)}`).toBeCloseTo(want![c] as number, 7);
    }
  }
}

/** What init of schema 1 made: the same objects, rollups without counter columns, schema_version 1. */
async function schemaOneStore(db: Db): Promise<Store> {
  // What init of schema 1 made: the same objects, rollups without counter columns.
  const probe = await initStore(db);
  for (const step of probe.engine.counterUpgradeSteps(probe.rollups.map((r) => r.bucket)))
    for (const s of step.statements) await db.query(s);
  if (probe.mode !== 'timescaledb') {
    for (const r of probe.rollups)
      await db.query(
        `ALTER TABLE iotctl.${r.name} DROP COLUMN first, DROP COLUMN last, DROP COLUMN increase`,
      );
  } else {
    const steps = probe.engine.schemaSteps({
      ...initOptions({ rollups: '1m,1h,1d' }),
      chunkInterval: probe.chunkInterval,
      rollups: probe.rollups.map((r) => r.bucket),
      counters: false,
    });
    for (const step of steps) {
      const exists = (await db.query<{ exists: boolean }>(step.exists)).rows[0]?.exists;
      if (!exists) for (const s of step.statements) await db.query(s);
    }
  }
  await db.query(upsertConfig({ ...serialiseConfig(probe), schema_version: 1 }));
  const v1 = await loadStore(db);
  expect(v1.schemaVersion).toBe(1);
  return v1;
}

describe.each(targetKinds)('query agg counters, delta and --window on the %s target', (kind) => {
  let target: TestTarget;
  let db: Db;
  let store: Store;
  beforeAll(async () => {
    target = await makeTarget(kind);
    db = await target.open();
    store = await initStore(db);
    const last = DAYS * 1440 - 1;
    await addSeries(db, store, {
      device: 'meter-1',
      metric: 'energy',
      unit: 'kWh',
      first: 0,
      last,
      valueSql: meter1,
      skip: 'i BETWEEN 1500 AND 1619',
    });
    await addSeries(db, store, { device: 'meter-2', metric: 'energy', first: 0, last, valueSql: meter2 });
    await refreshAll(db, store);
  });
  afterAll(async () => {
    await db?.close();
    await target?.cleanup();
  });

  /** Per device and bucket of the readings in [from, to): increase (the oracle's own LAG) and avg, min, max. */
  async function oracleBuckets(every: string, from: Date, to: Date): Promise<Oracle> {
    const { rows } = await db.query<{
      device: string;
      bucket: Date;
      increase: number;
      avg: number;
      min: number;
      max: number;
    }>(
      `SELECT s.device_id AS device, date_bin($1::interval, p.time, '2000-01-03'::timestamptz) AS bucket,
              sum(${stepSql}) AS increase, avg(p.value) AS avg, min(p.value) AS min, max(p.value) AS max
         FROM (${readingSteps}) p JOIN iotctl.series s ON s.id = p.series_id
        WHERE s.metric = 'energy' AND p.time >= $2 AND p.time < $3
        GROUP BY 1, 2`,
      [every, from, to],
    );
    return new Map(
      rows.map((r) => [
        key(r.device, new Date(r.bucket)),
        { increase: r.increase, avg: r.avg, min: r.min, max: r.max },
      ]),
    );
  }

  it.each(['1h', '1d'])(
    'increase and rate --every %s over an unaligned range count resets, and every plan (raw, each rollup) agrees with LAG over the readings',
    async (every) => {
      const e = parseDuration(every);
      const since = new Date(at(30).getTime() + 17_000);
      const until = new Date(at(DAYS * 1440 - 97).getTime() + 5_000);
      const oracle = await oracleBuckets(e.interval, since, until);
      for (const v of oracle.values()) v.rate = (v.increase as number) / (e.ms / 1000);
      const plans = await everyPlan(db, {
        filter: { metric: 'energy' },
        range: { since, until },
        every: e,
        fns: ['increase', 'rate', 'count'],
      });
      // Raw alone and at least one plan through each rollup that divides --every.
      expect(plans.at(-1)?.sources).toEqual(['raw']);
      for (const r of store.rollups.filter((x) => e.ms % x.bucket.ms === 0))
        expect(
          plans.some((p) => p.sources.includes(r.name)),
          r.name,
        ).toBe(true);
      for (const p of plans) expectMatches(p.res, oracle, ['increase', 'rate']);
      // 16:00..16:59: 40 steps of 0.5 (the first from 15:59), the drop to zero at 16:40 adds 0, 19 steps more; 34:00: the
      // drop to 100 right at the bucket boundary counts 100 (a new run from its first value), then 59 steps of 0.25.
      if (every === '1h') {
        const reset = plans[0]!.res.rows.find(
          (r) => r.device === 'meter-1' && r.time.getTime() === at(960).getTime(),
        );
        expect(reset?.increase).toBeCloseTo(40 * 0.5 + 0 + 19 * 0.5, 9);
        const lower = plans[0]!.res.rows.find(
          (r) => r.device === 'meter-1' && r.time.getTime() === at(2040).getTime(),
        );
        expect(lower?.increase).toBeCloseTo(100 + 59 * 0.25, 9);
      }
    },
  );

  it('--window 3h gives the trailing moving avg, min, max and increase, the first buckets seeing the ones before the range', async () => {
    const e = parseDuration('1h');
    const since = new Date(at(6 * 60 + 20).getTime());
    const until = at(40 * 60);
    const plans = await everyPlan(db, {
      filter: { metric: 'energy' },
      range: { since, until },
      every: e,
      fns: ['avg', 'min', 'max', 'increase'],
      windowBuckets: 3,
    });
    const { rows } = await db.query<Record<string, number | Date | string>>(
      `WITH b AS (SELECT DISTINCT p.series_id, date_bin('1 hour', p.time, '2000-01-03'::timestamptz) AS bucket
                    FROM iotctl.points p WHERE p.time >= $1 AND p.time < $2)
       SELECT s.device_id AS device, b.bucket, avg(p.value) AS moving_avg, min(p.value) AS moving_min,
              max(p.value) AS moving_max, sum(${stepSql}) AS moving_increase
         FROM b JOIN iotctl.series s ON s.id = b.series_id
         JOIN (${readingSteps}) p ON p.series_id = b.series_id
          AND p.time >= b.bucket - interval '2 hours' AND p.time < b.bucket + interval '1 hour'
        GROUP BY 1, 2`,
      [at(6 * 60), until],
    );
    const oracle: Oracle = new Map(
      rows.map((r) => [
        key(r.device as string, new Date(r.bucket as Date)),
        {
          moving_avg: Number(r.moving_avg),
          moving_min: Number(r.moving_min),
          moving_max: Number(r.moving_max),
          moving_increase: Number(r.moving_increase),
        },
      ]),
    );
    expect(plans.length).toBeGreaterThan(1);
    for (const p of plans) {
      expect(p.res.rows[0]?.time).toEqual(at(6 * 60));
      expect(p.res.fns).toEqual([
        'avg',
        'min',
        'max',
        'increase',
        'moving_avg',
        'moving_min',
        'moving_max',
        'moving_increase',
      ]);
      expectMatches(p.res, oracle, ['moving_avg', 'moving_min', 'moving_max', 'moving_increase']);
    }
  });

  it('delta is the change from the previous bucket (LAG), empty after a bucket without readings, the first bucket compared with the one before the range', async () => {
    const e = parseDuration('1h');
    const since = at(5 * 60);
    const until = at(40 * 60);
    const plans = await everyPlan(db, {
      filter: { metric: 'energy' },
      range: { since, until },
      every: e,
      fns: ['avg', 'increase', 'delta'],
    });
    const all = await oracleBuckets(e.interval, at(0), until);
    const oracle: Oracle = new Map();
    for (const [k, v] of all) {
      const [device, iso] = k.split('@') as [string, string];
      const t = new Date(iso);
      if (t < since) continue;
      const prev = all.get(key(device, new Date(t.getTime() - e.ms)));
      oracle.set(k, {
        delta_avg: prev ? (v.avg as number) - (prev.avg as number) : null,
        delta_increase: prev ? (v.increase as number) - (prev.increase as number) : null,
      });
    }
    // meter-1 has no readings 25:00..26:59: the bucket after the gap has no delta.
    expect(oracle.get(key('meter-1', at(27 * 60)))?.delta_avg).toBeNull();
    for (const p of plans) {
      expect(p.res.fns).toEqual(['avg', 'increase', 'delta_avg', 'delta_increase']);
      expectMatches(p.res, oracle, ['delta_avg', 'delta_increase']);
    }
  });

  it('rejects a percentile beside a counter, delta alone and a window that is not whole buckets', async () => {
    const range = { since: at(0), until: at(600) };
    const base = { filter: { metric: 'energy' }, range, every: parseDuration('1h') };
    await expect(planAgg(db, { ...base, fns: ['increase', 'p95'] })).rejects.toThrow(/cannot be combined/);
    await expect(planAgg(db, { ...base, fns: ['delta'] })).rejects.toThrow(/needs another function/);
  });

  it('init upgrades a schema 1 store: increase reads raw until then, the rollups after a refresh, and both agree', async () => {
    const t = await makeTarget(kind);
    const old = await t.open();
    try {
      const v1 = await schemaOneStore(old);
      await addSeries(old, v1, {
        device: 'meter-1',
        metric: 'energy',
        first: 0,
        last: 1439,
        valueSql: meter1,
      });
      await refreshAll(old, v1);
      const opts: AggOptions = {
        filter: { metric: 'energy' },
        range: { since: at(0), until: at(1440) },
        every: parseDuration('1h'),
        fns: ['increase'],
      };
      const before = await planAgg(old, opts);
      expect(before.header.sources.map((s) => s.source)).toEqual(['raw']);
      expect(before.header.sources[0]?.reason).toMatch(/predate their counter columns/);
      const rawRes = await runAgg(old, before, collectAgg);

      const res = await init(old, initOptions({ rollups: '1m,1h,1d' }));
      expect(
        res.objects.filter((o) => o.object.startsWith('counter columns')).map((o) => o.status),
      ).toContain('created');
      const v2 = await loadStore(old);
      expect(v2.schemaVersion).toBe(2);
      await refreshAll(old, v2);
      const after = await planAgg(old, opts);
      expect(after.header.sources.map((s) => s.source)).toContain('rollup_1h');
      const rolled = await runAgg(old, after, collectAgg);
      expect(rolled.rows.length).toBe(rawRes.rows.length);
      rolled.rows.forEach((r, i) =>
        expect(r.increase as number).toBeCloseTo(rawRes.rows[i]!.increase as number, 9),
      );
      // A second init has nothing left to upgrade.
      const again = await init(old, initOptions({ rollups: '1m,1h,1d' }));
      expect(again.objects.filter((o) => o.object.startsWith('counter columns'))).toEqual([]);
      expect(again.changed).toBe(false);
    } finally {
      await old.close();
      await t.cleanup();
    }
  });

  it('init leaves a schema 1 store with a retention policy as it is: rebuilding would lose history', async () => {
    const t = await makeTarget(kind);
    const old = await t.open();
    try {
      const v1 = await schemaOneStore(old);
      await setPolicy(old, v1, 'retention', 'points', parseDuration('3650d'));
      const res = await init(old, initOptions({ rollups: '1m,1h,1d' }));
      const counters = res.objects.filter((o) => o.object.startsWith('counter columns'));
      expect(counters).toEqual([
        expect.objectContaining({
          status: 'skipped',
          note: expect.stringMatching(/would lose what retention/),
        }),
      ]);
      expect((await loadStore(old)).schemaVersion).toBe(1);
      await addSeries(old, v1, { device: 'meter-1', metric: 'energy', first: 0, last: 59, valueSql: meter1 });
      const plan = await planAgg(old, {
        filter: { metric: 'energy' },
        range: { since: at(0), until: at(60) },
        every: parseDuration('1h'),
        fns: ['increase'],
      });
      expect(plan.header.sources.map((x) => [x.source, x.reason])).toEqual([
        ['raw', expect.stringMatching(/predate their counter columns/)],
      ]);
    } finally {
      await old.close();
      await t.cleanup();
    }
  });
});
