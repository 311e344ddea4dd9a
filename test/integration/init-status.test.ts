import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init } from '../../src/maintenance/init.js';
import { status } from '../../src/maintenance/status.js';
import { openDb } from '../../src/db/connect.js';
import { parseDuration } from '../../src/util/duration.js';
import { initOptions } from '../helpers/store.js';
import { makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';

const defaults = initOptions;

describe.each(targetKinds)('init and status on the %s target', (kind) => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await makeTarget(kind);
  });
  afterAll(async () => target.cleanup());

  it('dry run before init prints SQL and creates nothing', async () => {
    const db = await target.open();
    try {
      const res = await init(db, defaults({ dryRun: true }));
      expect(res.sql.some((s) => /CREATE TABLE IF NOT EXISTS iotctl\.points/.test(s))).toBe(true);
      expect(res.objects.every((o) => o.status === 'would create' || o.status === 'skipped')).toBe(true);
      const st = await status(db);
      expect(st.initialised).toBe(false);
    } finally {
      await db.close();
    }
  });

  it('creates the schema once; a second run changes nothing', async () => {
    const db = await target.open();
    try {
      const first = await init(db, defaults({ retention: parseDuration('90d') }));
      expect(first.changed).toBe(true);
      expect(first.objects.filter((o) => o.status === 'created').length).toBeGreaterThan(5);
      const second = await init(db, defaults({ retention: parseDuration('90d') }));
      expect(second.objects.filter((o) => o.status !== 'exists')).toEqual([]);
      expect(second.changed).toBe(false);
      expect(second.objects.every((o) => o.status === 'exists' || o.status === 'skipped')).toBe(true);
    } finally {
      await db.close();
    }
  });

  it('status reports the mode, versions and a healthy store', async () => {
    const db = await target.open();
    try {
      const st = await status(db);
      expect(st.initialised).toBe(true);
      expect(st.healthy).toBe(true);
      expect(st.config).toEqual({ chunkInterval: '1d', rollups: ['1m', '1h', '1d'] });
      if (kind === 'embedded') {
        expect(st.mode).toBe('timescaledb');
        expect(st.timescaledb.state).toBe('installed');
        expect(st.timescaledb.version).toMatch(/^2\.23/);
        expect(st.timescaledb.license).toBe('timescale');
      } else if (kind === 'server') {
        expect(st.mode).toBe('plain');
        expect(st.timescaledb.state).toBe('absent');
        expect(st.chunks.total).toBeGreaterThanOrEqual(8);
      }
      expect(st.jobs.some((j) => j.kind === 'retention')).toBe(true);
      // The size on disk, WAL included, so a growing pg_wal shows (embedded: the whole data directory).
      expect(st.storage.databaseBytes).toBeGreaterThan(0);
      if (kind === 'embedded') {
        expect(st.storage.dataDirectory!.bytes).toBeGreaterThan(st.storage.dataDirectory!.walBytes);
      } else expect(st.storage.dataDirectory).toBeNull();
    } finally {
      await db.close();
    }
  });

  // Only a real TimescaleDB server has a scheduler to lose: stopping this database's workers shows what a
  // server with too few timescaledb.max_background_workers looks like.
  it('status: no TimescaleDB scheduler for this database is a problem (exit 5); maintain is the way out', async ({
    skip,
  }) => {
    const db = await target.open();
    try {
      const st = await status(db);
      if (kind !== 'external' || st.mode !== 'timescaledb') skip();
      expect(st.problems.filter((p) => /scheduler/.test(p))).toEqual([]);
      await db.query('SELECT _timescaledb_functions.stop_background_workers()');
      try {
        const stopped = await status(db);
        expect(stopped.healthy).toBe(false);
        expect(stopped.problems.join('\n')).toMatch(
          /no TimescaleDB scheduler runs for database .*: policies will not run by themselves.*iotctl maintain/,
        );
      } finally {
        await db.query('SELECT _timescaledb_functions.start_background_workers()');
      }
    } finally {
      await db.close();
    }
  });

  it('the view reads as (time, device_id, metric, value) and rejects a duplicate reading', async () => {
    const db = await target.open();
    try {
      const now = new Date(Math.floor(Date.now() / 1000) * 1000);
      await db.query(`INSERT INTO iotctl.series (device_id, metric, unit) VALUES ('dev-1', 'temp', 'C')`);
      await db.query(`INSERT INTO iotctl.points SELECT $1::timestamptz, id, 21.5 FROM iotctl.series`, [now]);
      const { rows } = await db.query<{ device_id: string; metric: string; value: number; time: Date }>(
        'SELECT time, device_id, metric, value FROM iotctl.readings',
      );
      expect(rows).toEqual([{ time: now, device_id: 'dev-1', metric: 'temp', value: 21.5 }]);
      await expect(
        db.query(`INSERT INTO iotctl.points SELECT $1::timestamptz, id, 22 FROM iotctl.series`, [now]),
      ).rejects.toThrow(/duplicate key/);
    } finally {
      await db.close();
    }
  });
});

describe('embedded data directory', () => {
  it('reopened, licensed TimescaleDB functions still work (LOAD timescaledb on every open)', async () => {
    const target = await makeTarget('embedded');
    try {
      let db = await target.open();
      await init(db, defaults({ rollups: 'none' }));
      await db.query(
        `INSERT INTO iotctl.points SELECT t, 1, 1.0 FROM generate_series(now() - interval '3 days', now() - interval '2 days', interval '1 hour') t`,
      );
      await db.close();
      db = await openDb({ db: target.spec });
      try {
        const { rows } = await db.query<{ n: number }>(
          `SELECT count(compress_chunk(c, true))::int AS n FROM show_chunks('iotctl.points') c`,
        );
        expect(rows[0]?.n).toBeGreaterThan(0);
      } finally {
        await db.close();
      }
    } finally {
      await target.cleanup();
    }
  });

  it('a second opener works through the first (its holder), and takes over a dead holder’s lock', async () => {
    const target = await makeTarget('embedded');
    try {
      const db = await target.open();
      const second = await openDb({ db: target.spec });
      const { rows } = await second.query<{ n: number }>('SELECT 1 AS n');
      expect(rows).toEqual([{ n: 1 }]);
      expect(await second.capabilities()).toEqual(await db.capabilities());
      await second.close();
      await db.close();
      const fs = await import('node:fs');
      const path = await import('node:path');
      // pid 2^22+1 is above Linux's pid_max default and so belongs to no live process.
      fs.writeFileSync(path.join(target.spec, 'iotctl.lock'), JSON.stringify({ pid: 4194305 }));
      const again = await target.open();
      await again.close();
    } finally {
      await target.cleanup();
    }
  });
});
