// `iotctl maintain`, `jobs`, `status` and `compress` as subprocesses: exit codes cron can branch on.
import fs from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/connect.js';
import { loadStore } from '../../src/db/store.js';
import { MAINTENANCE_LOCK_KEY } from '../../src/maintenance/maintain.js';
import { runCli } from '../helpers/cli.js';
import { ensurePartitions } from '../helpers/store.js';
import { engineOf, makeTarget, targetKinds, tempDataDir, type TestTarget } from '../helpers/targets.js';

const DAY = 86_400_000;

async function seed(spec: string): Promise<void> {
  const db = await openDb({ db: spec });
  try {
    // Plain mode and Citus: partitions for the past days (init creates them from now on), in the store's
    // chunk interval (7 days on Citus). Nothing to do on TimescaleDB.
    await ensurePartitions(db, await loadStore(db), Date.now() - 2 * DAY, Date.now());
    await db.query(`INSERT INTO iotctl.series (device_id, metric) VALUES ('d1', 'temp')`);
    await db.query(
      `INSERT INTO iotctl.points SELECT t, 1, 20 FROM generate_series(date_trunc('hour', now()) - interval '2 days', now(), interval '1 hour') t`,
    );
  } finally {
    await db.close();
  }
}

describe('maintain on the embedded database', () => {
  const dir = tempDataDir();
  beforeAll(async () => {
    expect((await runCli(['init', '--db', dir, '--rollups', '1h', '--compress-after', '1d'])).code).toBe(0);
    await seed(dir);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('two maintain processes at once (the second works through the first) never run a job twice', async () => {
    const started = Date.now();
    const runs = await Promise.all([
      runCli(['maintain', '--db', dir, '--json']),
      runCli(['maintain', '--db', dir, '--json']),
    ]);
    for (const r of runs) expect([0, 6], r.stderr).toContain(r.code);
    // Where they overlap, the maintenance lock (a lock file beside the directory's) turns one away at once.
    const busy = runs.filter((r) => r.code === 6);
    for (const r of busy) {
      expect(r.stderr).toMatch(/^error: another iotctl maintain is running on /m);
      expect(r.stdout).toBe('');
    }
    const ran = runs
      .filter((r) => r.code === 0)
      .flatMap((r) => (JSON.parse(r.stdout) as { jobs: Array<{ job: string }> }).jobs.map((j) => j.job));
    // The events follow the readings' compression policy as a job of their own (TimescaleDB).
    expect(ran.sort()).toEqual([
      'compression:events',
      'compression:points',
      'compression:rollup_1h',
      'refresh:rollup_1h',
    ]);
    expect(Date.now() - started).toBeLessThan(120_000);
  });

  it('--quiet prints nothing when all is well; --json gives the pinned summary', async () => {
    const quiet = await runCli(['maintain', '--db', dir, '--quiet']);
    expect(quiet).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const json = await runCli(['maintain', '--db', dir, '--json', '--force']);
    expect(json.code).toBe(0);
    const summary = JSON.parse(json.stdout);
    expect(Object.keys(summary)).toEqual([
      'target',
      'mode',
      'dryRun',
      'force',
      'jobs',
      'notDue',
      'partitionsCreated',
      'failed',
    ]);
    expect(summary.jobs.map((j: { job: string }) => j.job)).toEqual([
      'refresh:rollup_1h',
      'compression:rollup_1h',
      'compression:points',
      'compression:events',
    ]);
    expect(Object.keys(summary.jobs[0])).toEqual(['job', 'id', 'status', 'error', 'seconds']);
    expect(summary.failed).toBe(0);
  });

  it('stats --json shows the compressed chunks with their ratios', async () => {
    const r = await runCli(['stats', '--db', dir, '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.totals.compressed).toBeGreaterThanOrEqual(1);
    const c = s.chunks.find((x: { compressed: boolean }) => x.compressed);
    expect(c).toMatchObject({
      chunk: expect.stringMatching(/^_timescaledb_internal\._hyper_\d+_\d+_chunk$/),
      ratio: expect.any(Number),
    });
    expect(c.rangeStart).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('stats --top: the totals row spans every chunk, not only the rows shown', async () => {
    const all = JSON.parse((await runCli(['stats', '--db', dir, '--json'])).stdout);
    expect(all.chunks.length).toBeGreaterThanOrEqual(2);
    const top = await runCli(['stats', '--db', dir, '--sort', 'time', '--top', '1']);
    expect(top.code).toBe(0);
    const total = top.stdout.split('\n').find((l) => l.includes('total ('))!;
    const cells = total.split('│').map((c) => c.trim());
    const iso = (v: string) => new Date(v).toISOString().replace('.000Z', 'Z');
    expect(cells).toContain(iso(all.chunks[0].rangeStart));
    expect(cells).toContain(iso(all.chunks[all.chunks.length - 1].rangeEnd));
  });
});

describe.each(targetKinds.filter((k) => k !== 'embedded'))('maintain on the %s target', (kind) => {
  const engine = engineOf(kind);
  let target: TestTarget;
  let url: string;
  beforeAll(async () => {
    target = await makeTarget(kind);
    url = target.spec;
    expect((await runCli(['init', '--db', url, '--rollups', '1h', '--retention', '30d'])).code).toBe(0);
    await seed(url);
  });
  afterAll(async () => target?.cleanup());

  it('exits 6 at once while another session holds the maintenance lock, and works after', async () => {
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [MAINTENANCE_LOCK_KEY.toString()]);
      const busy = await runCli(['maintain', '--db', url]);
      expect(busy.code).toBe(6);
      expect(busy.stdout).toBe('');
      expect(busy.stderr).toMatch(
        /^error: another iotctl maintain is running on postgres:\/\/postgres(:\*\*\*)?@/m,
      );
      const both = await Promise.all([
        runCli(['maintain', '--db', url]),
        runCli(['maintain', '--db', url, '--dry-run']),
      ]);
      expect(both.map((r) => r.code)).toEqual([6, 6]);
    } finally {
      await holder.end();
    }
    // TimescaleDB's scheduler has run the jobs since init: none is due, --force runs them.
    const ok = await runCli(['maintain', '--db', url, ...(engine === 'timescaledb' ? ['--force'] : [])]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/refresh:rollup_1h[\s\S]*retention:points/);
  });

  it('a failing job makes maintain, jobs and status exit 5, naming the job and its error', async () => {
    const db = await openDb({ db: url });
    try {
      if (engine === 'timescaledb') {
        // A continuous aggregate's materialization takes no ALTER TABLE: a trigger refuses its rows instead.
        const { rows } = await db.query<{ t: string }>(
          `SELECT format('%I.%I', materialization_hypertable_schema, materialization_hypertable_name) AS t
             FROM timescaledb_information.continuous_aggregates WHERE view_name = 'rollup_1h'`,
        );
        await db.query(
          `CREATE FUNCTION iotctl.refuse_all() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'refuse_all'; END$$`,
        );
        await db.query(
          `CREATE TRIGGER refuse_all BEFORE INSERT ON ${rows[0]!.t} FOR EACH ROW EXECUTE FUNCTION iotctl.refuse_all()`,
        );
      } else
        await db.query('ALTER TABLE iotctl.rollup_1h ADD CONSTRAINT refuse_all CHECK (count < 0) NOT VALID');
      // TimescaleDB's refresh policy stops an hour short of now: the reading goes in a bucket it refreshes.
      const ago = engine === 'timescaledb' ? '3 hours 30 minutes' : '30 minutes';
      await db.query(
        `INSERT INTO iotctl.points VALUES (date_trunc('hour', now()) - interval '${ago}', 1, 5)`,
      );
    } finally {
      await db.close();
    }
    const run = await runCli(['maintain', '--db', url, '--force']);
    expect(run.code).toBe(5);
    // TimescaleDB 2.28's refresh_continuous_aggregate reports an error raised while it materializes as the
    // commit it could not make (2D000), not the error itself.
    const why = engine === 'timescaledb' ? /invalid transaction termination/ : /refuse_all/;
    expect(run.stderr).toMatch(new RegExp(`error: job refresh:rollup_1h failed: .*${why.source}`));
    expect(run.stdout).toMatch(/retention:points +│ (-|\d+) +│ success/);
    const jobs = await runCli(['jobs', '--db', url, '--json']);
    expect(jobs.code).toBe(5);
    const listed = JSON.parse(jobs.stdout).find((j: { name: string }) => j.name === 'refresh:rollup_1h');
    expect(listed).toMatchObject({
      lastStatus: 'failed',
      failing: true,
      lastError: expect.stringMatching(why),
    });
    const status = await runCli(['status', '--db', url]);
    expect(status.code).toBe(5);
    expect(status.stdout).toMatch(/problem: job refresh:rollup_1h( \(id \d+\))? is failing/);
  });

  // Plain mode only: TimescaleDB compresses (the embedded suite above), Citus converts to columnar.
  it.runIf(engine === 'plain')('compress explains that it needs TimescaleDB (exit 2)', async () => {
    const r = await runCli(['compress', 'run', '--db', url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: compression needs TimescaleDB/m);
    expect(r.stdout).toBe('');
  });
});
