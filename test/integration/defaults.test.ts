// Defaults that fit the data: row counts right after an ingest, each series' cadence and the advice it
// gives, init --cadence, compressed rollups and the rollups' default retention.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadStore } from '../../src/db/store.js';
import { ingest } from '../../src/ingest/run.js';
import { advise } from '../../src/maintenance/advise.js';
import { init } from '../../src/maintenance/init.js';
import { listJobs } from '../../src/maintenance/jobs.js';
import { maintain } from '../../src/maintenance/maintain.js';
import { allStats } from '../../src/maintenance/stats.js';
import { status } from '../../src/maintenance/status.js';
import { parseDuration } from '../../src/util/duration.js';
import { ingestOptions } from '../helpers/ingest.js';
import { initOptions } from '../helpers/store.js';
import { engineOf, makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';

const HOURS = 20 * 24;
const START = Date.UTC(2020, 0, 6);

/** Three devices, one reading an hour for 20 days (20 daily chunks), long format. */
function hourlyCsv(dir: string): string {
  const file = path.join(dir, 'hourly.csv');
  const lines = ['time,device,metric,value'];
  for (let h = 0; h < HOURS; h++) {
    const t = new Date(START + h * 3_600_000).toISOString();
    for (const d of ['a', 'b', 'c']) lines.push(`${t},${d},temperature,${(20 + Math.sin(h / 5)).toFixed(2)}`);
  }
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

describe.each(targetKinds)('defaults that fit the data on the %s target', (kind) => {
  let target: TestTarget;
  let csv: string;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-defaults-'));
  beforeAll(async () => {
    target = await makeTarget(kind);
    csv = hourlyCsv(tmp);
  });
  afterAll(async () => {
    await target.cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('status and stats count the rows right after an ingest (they said 0 and ? until an ANALYZE)', async () => {
    const db = await target.open();
    try {
      await init(db, initOptions());
      const s = await ingest(db, ingestOptions([csv]));
      expect(s.loaded).toBe(HOURS * 3);
      expect((await status(db)).rowsEstimate).toBe(s.loaded);
      const stats = await allStats(db, 'time');
      expect(stats.chunks.length).toBeGreaterThanOrEqual(20);
      const written = stats.chunks.filter(
        (c) => c.rangeEnd.getTime() > START && c.rangeStart.getTime() < START + HOURS * 3_600_000,
      );
      expect(written.length).toBe(20);
      expect(written.every((c) => c.rowsEstimate !== null)).toBe(true);
      expect(stats.totals.rowsEstimate).toBe(s.loaded);
    } finally {
      await db.close();
    }
  });

  it("advise reports each series' cadence, the chunk interval to use and the rollups finer than the cadence", async () => {
    const db = await target.open();
    try {
      const res = await advise(db);
      expect(res.series.map((s) => [s.device, s.cadence, s.readingsPerChunk])).toEqual([
        ['a', '1h', 24],
        ['b', '1h', 24],
        ['c', '1h', 24],
      ]);
      const chunk = res.advice.find((a) => a.target === 'chunk interval');
      expect(chunk?.change).toMatch(/--chunk-interval 5w .*init --cadence 1h/);
      // 20 daily chunks fall into one or two 5-week ones (native partitions, plain mode and Citus: with the
      // empty partitions ahead of now).
      const [, now, then] = /chunks (\d+) -> ~(\d+) /.exec(chunk?.effect ?? '') ?? [];
      expect(Number(now)).toBeGreaterThanOrEqual(20);
      expect(Number(then)).toBeLessThanOrEqual(engineOf(kind) === 'timescaledb' ? 2 : 4);
      expect(res.advice.map((a) => a.target)).toEqual(['chunk interval', 'rollup_1m', 'rollup_1h']);
      expect(res.advice[1]!.problem).toMatch(/3 of 3 series .* 100% of its ~1,440 rows hold one reading/);
    } finally {
      await db.close();
    }
  });

  it('init --cadence 1h skips the rollups at or below it and sizes chunks to it; a second run changes nothing', async () => {
    const other = await makeTarget(kind);
    const db = await other.open();
    try {
      const opts = initOptions({ cadence: parseDuration('1h') });
      const first = await init(db, opts);
      expect(first.objects.filter((o) => o.status === 'skipped').map((o) => o.object)).toEqual([
        'rollup iotctl.rollup_1m',
        'rollup iotctl.rollup_1h',
      ]);
      const store = await loadStore(db);
      expect(store.chunkInterval.text).toBe('5w');
      expect(store.rollups.map((r) => r.name)).toEqual(['rollup_1d']);
      const second = await init(db, opts);
      expect(second.changed).toBe(false);
      expect(second.objects.filter((o) => !['exists', 'skipped'].includes(o.status))).toEqual([]);
    } finally {
      await db.close();
      await other.cleanup();
    }
  });

  it('init --retention gives each rollup but the coarsest 4x its source, once', async () => {
    const other = await makeTarget(kind);
    const db = await other.open();
    try {
      const opts = initOptions({ retention: parseDuration('30d') });
      const first = await init(db, opts);
      const made = first.objects.filter((o) => /^retention policy on iotctl\.rollup/.test(o.object));
      expect(made.map((o) => [o.object.split(' ')[3], o.status])).toEqual([
        ['iotctl.rollup_1m', 'created'],
        ['iotctl.rollup_1h', 'created'],
      ]);
      const store = await loadStore(db);
      const retention = (await listJobs(db, store)).filter((j) => j.kind === 'retention');
      expect(Object.fromEntries(retention.map((j) => [j.target, j.after]))).toEqual({
        points: '30 days',
        // TimescaleDB: the events follow the readings' policy as a job of their own.
        ...(engineOf(kind) === 'timescaledb' ? { events: '30 days' } : {}),
        rollup_1m: '120 days',
        rollup_1h: '480 days',
      });
      const second = await init(db, opts);
      expect(second.changed).toBe(false);
    } finally {
      await db.close();
      await other.cleanup();
    }
  });

  it('rollups are compressed like the readings: a policy init creates once and maintain runs', async ({
    skip,
  }) => {
    if (engineOf(kind) !== 'timescaledb') skip();
    const db = await target.open();
    try {
      const store = await loadStore(db);
      const jobs = await listJobs(db, store);
      expect(jobs.filter((j) => j.kind === 'compression').map((j) => [j.target, j.after])).toEqual([
        ['rollup_1m', '7 days'],
        ['rollup_1h', '7 days'],
        ['rollup_1d', '7 days'],
      ]);
      const run = await maintain(db, { dryRun: false, force: true });
      expect(run.jobs.filter((j) => j.status === 'failed')).toEqual([]);
      for (const r of store.rollups) {
        const chunks = await store.engine.listChunks(db, r.name);
        expect(chunks.length).toBeGreaterThan(0);
        expect(chunks.every((c) => c.compressed)).toBe(true);
      }
      // Compressed, the rollups still hold every reading.
      const { rows } = await db.query<{ n: string }>('SELECT sum(count)::text AS n FROM iotctl.rollup_1d');
      expect(Number(rows[0]!.n)).toBe(HOURS * 3);
      const again = await init(db, initOptions());
      expect(again.changed).toBe(false);
    } finally {
      await db.close();
    }
  });
});
