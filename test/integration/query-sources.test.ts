// Where `query agg` may read a rollup: from its retention cutoff on (both targets), up to its dirty marks
// (plain mode), ignoring the invalidations retention itself logs (TimescaleDB), and warning when unsure.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { printWarnings } from '../../src/output/query.js';
import { queryAgg, type AggOptions, type AggResult } from '../../src/query/agg.js';
import type { Store } from '../../src/db/store.js';
import type { Db } from '../../src/db/types.js';
import { parseDuration } from '../../src/util/duration.js';
import { makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';
import {
  addSeries,
  at,
  initStore,
  refreshRollups,
  basic,
  fromRaw,
  expectSameAggregates,
} from './query-data.js';

const noisy = `20 + 5 * sin(i / 100.0) + ((i * 7919) % 13) / 10.0`;
const days = { since: at(0), until: at(3 * 1440) };
const every = (e: string, range = days): AggOptions => ({
  filter: { metric: 'temp' },
  range,
  every: parseDuration(e),
  fns: basic,
});

const shape = (res: AggResult) =>
  res.sources.map((s) => [
    s.source,
    (s.from.getTime() - at(0).getTime()) / 60_000,
    (s.to.getTime() - at(0).getTime()) / 60_000,
  ]);

/** A retention policy whose cutoff is `cutoff` now, set without running it. */
async function setRetention(db: Db, store: Store, target: string, cutoff: Date): Promise<void> {
  if (store.mode === 'timescaledb') {
    await db.query(`SELECT add_retention_policy('iotctl.${target}', drop_after => now() - $1::timestamptz)`, [
      cutoff,
    ]);
  } else {
    await db.query(
      `INSERT INTO iotctl.policies (kind, target, after, schedule) VALUES ('retention', $1, now() - $2::timestamptz, '1 day')`,
      [target, cutoff],
    );
  }
}

/** What a retention run on rollup_1m leaves: no buckets before the cutoff (TimescaleDB: in its materialization). */
async function deleteRollupBefore(db: Db, store: Store, rollup: string, before: Date): Promise<void> {
  let table = `iotctl.${rollup}`;
  if (store.mode === 'timescaledb') {
    const { rows } = await db.query<{ t: string }>(
      `SELECT format('%I.%I', materialization_hypertable_schema, materialization_hypertable_name) AS t
         FROM timescaledb_information.continuous_aggregates WHERE view_schema = 'iotctl' AND view_name = $1`,
      [rollup],
    );
    table = rows[0]!.t;
  }
  const res = await db.query(`DELETE FROM ${table} WHERE bucket < $1`, [before]);
  expect(res.rowCount).toBeGreaterThan(0);
}

describe.each(targetKinds)('query agg source bounds on the %s target', (kind) => {
  let target: TestTarget;
  let db: Db;
  let store: Store;
  beforeAll(async () => {
    target = await makeTarget(kind);
    db = await target.open();
    store = await initStore(db);
    for (const device of ['hall-1', 'yard-1']) {
      await addSeries(db, store, {
        device,
        metric: 'temp',
        unit: '°C',
        first: 0,
        last: 3 * 1440 - 1,
        valueSql: noisy,
      });
    }
    await refreshRollups(db, store, at(3 * 1440));
  });
  afterAll(async () => {
    await db?.close();
    await target?.cleanup();
  });

  it('plain mode: a dirty mark below the watermark makes agg read raw from its bucket on, and equal raw', async ({
    skip,
  }) => {
    if (store.mode !== 'plain') skip();
    // A late reading below the watermark, and the mark the trigger on points writes for it (by contract).
    const late = new Date(at(600).getTime() + 30_000);
    await db.query(
      `INSERT INTO iotctl.points SELECT $1::timestamptz, id, 1000 FROM iotctl.series WHERE device_id = 'yard-1'`,
      [late],
    );
    await db.query(
      `INSERT INTO iotctl.meta (key, value) VALUES ('dirty:rollup_1m', jsonb_build_object('from', $1::text))
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [late.toISOString()],
    );
    const opts = every('1h', { since: at(0), until: at(1440) });
    const res = await queryAgg(db, opts);
    expect(shape(res)).toEqual([
      ['rollup_1h', 0, 600],
      ['raw', 600, 1440],
    ]);
    expect(res.sources[1]?.reason).toBe(
      'rollup_1m is not exact from 2026-01-05T10:00:00.000Z: rows changed below its watermark since the last refresh (dirty:rollup_1m from 2026-01-05T10:00:30.000Z)',
    );
    expectSameAggregates(res, await fromRaw(db, opts));
    expect(
      res.rows.find((r) => r.device === 'yard-1' && r.time.getTime() === at(600).getTime()),
    ).toMatchObject({
      count: 61,
      max: 1000,
    });

    // A mark on rollup_1h alone (rollup_1m's refresh recomputed old buckets) leaves rollup_1m exact.
    await db.query(`DELETE FROM iotctl.points WHERE time = $1`, [late]);
    await refreshRollups(db, store, at(3 * 1440));
    await db.query(
      `INSERT INTO iotctl.meta (key, value) VALUES ('dirty:rollup_1h', jsonb_build_object('from', $1::text))`,
      [at(1440 + 30).toISOString()],
    );
    const coarse = await queryAgg(db, every('1h'));
    expect(shape(coarse)).toEqual([
      ['rollup_1h', 0, 1440],
      ['rollup_1m', 1440, 3 * 1440],
    ]);
    expectSameAggregates(coarse, await fromRaw(db, every('1h')));
    await db.query(`DELETE FROM iotctl.meta WHERE key LIKE 'dirty:%'`);
  });

  it('a rollup is read only from its retention cutoff on: agg over older buckets reads raw and equals raw', async () => {
    // rollup_1m kept until day 1 07:13:20: retention removed every bucket before it.
    const cutoff = new Date(at(1440 + 433).getTime() + 20_000);
    await setRetention(db, store, 'rollup_1m', cutoff);
    await deleteRollupBefore(db, store, 'rollup_1m', at(1440 + 433));
    const minutes = await queryAgg(db, every('1m'));
    expect(shape(minutes)).toEqual([
      ['raw', 0, 1440 + 434],
      ['rollup_1m', 1440 + 434, 3 * 1440],
    ]);
    expect(minutes.sources[0]?.reason).toMatch(
      /^older than the rollup_1m retention cutoff 2026-01-06T07:14:00.000Z \(kept .+\)$/,
    );
    expectSameAggregates(minutes, await fromRaw(db, every('1m')));
    expect(minutes.rows).toHaveLength(2 * 3 * 1440);
    // rollup_1h keeps the history rollup_1m lost; on TimescaleDB the invalidation the deletion logged lies
    // below rollup_1m's cutoff, so it does not keep rollup_1h from answering.
    const hours = await queryAgg(db, every('1h'));
    expect(shape(hours)).toEqual([['rollup_1h', 0, 3 * 1440]]);
    expectSameAggregates(hours, await fromRaw(db, every('1h')));
  });

  it('TimescaleDB: when the invalidation logs cannot be read, agg reads raw and warns on stderr', async ({
    skip,
  }) => {
    if (store.mode !== 'timescaledb') skip();
    const log = '_timescaledb_catalog.continuous_aggs_hypertable_invalidation_log';
    // Roles are cluster-wide: a name of this run's own, so test databases on a shared server do not collide.
    const role = `iotctl_reader_${process.pid}_${Date.now() % 1_000_000}`;
    await db.exec(`CREATE ROLE ${role};
      GRANT USAGE ON SCHEMA iotctl TO ${role};
      GRANT SELECT ON ALL TABLES IN SCHEMA iotctl TO ${role};
      REVOKE SELECT ON ${log} FROM PUBLIC;
      SET ROLE ${role}`);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const res = await queryAgg(db, every('1h'));
      // queryAgg returns its warnings and prints nothing; `query agg` prints them with printWarnings.
      expect(stderr).not.toHaveBeenCalled();
      printWarnings(res.warnings);
      expect(res.sources).toMatchObject([
        { source: 'raw', reason: expect.stringMatching(/cannot read the TimescaleDB invalidation logs/) },
      ]);
      expect(stderr.mock.calls.map((c) => String(c[0]))).toEqual([
        expect.stringMatching(
          /^warning: cannot read the TimescaleDB invalidation logs \(.+\); reading raw data\n$/,
        ),
      ]);
    } finally {
      stderr.mockRestore();
      await db.exec(`RESET ROLE; GRANT SELECT ON ${log} TO PUBLIC; DROP OWNED BY ${role}; DROP ROLE ${role}`);
    }
  });

  it('TimescaleDB: ranges raw retention dropped are not pending: the rollups still answer for them', async ({
    skip,
  }) => {
    if (store.mode !== 'timescaledb') skip();
    const before = await queryAgg(db, every('1h'));
    expect(before.rows).toHaveLength(2 * 3 * 24);
    // drop_chunks logs an invalidation for the dropped day; raw data is gone there, rollup_1h is the record.
    const cutoff = new Date(at(1440).getTime() + 20_000);
    await setRetention(db, store, 'points', cutoff);
    const dropped = await db.query(`SELECT drop_chunks('iotctl.points', older_than => $1::timestamptz)`, [
      cutoff,
    ]);
    expect(dropped.rows).toHaveLength(1);
    const after = await queryAgg(db, every('1h'));
    expect(shape(after)).toEqual([['rollup_1h', 0, 3 * 1440]]);
    expect(after.rows).toEqual(before.rows);
  });
});
