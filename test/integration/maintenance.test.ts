// Policies, retention, maintain, jobs and failing jobs on both targets (embedded TimescaleDB, plain server).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressRun } from '../../src/maintenance/compress.js';
import { jobs, runJobNow } from '../../src/maintenance/jobs.js';
import { failedJobsError, maintain } from '../../src/maintenance/maintain.js';
import { retentionRun } from '../../src/maintenance/retention.js';
import { rollupRefresh } from '../../src/maintenance/rollups.js';
import { status } from '../../src/maintenance/status.js';
import { loadStore } from '../../src/db/store.js';
import type { Db } from '../../src/db/types.js';
import { removePolicy, setPolicy, showPolicies } from '../../src/maintenance/policies.js';
import { parseDuration } from '../../src/util/duration.js';
import { ensureDaysBack, initTestStore } from '../helpers/store.js';
import { engineOf, makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';
import { seedReadings } from './maintenance-data.js';

const DAY = 86_400_000;

async function withOpen<T>(target: TestTarget, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await target.open();
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

const count = async (db: Db, where: string, values: unknown[] = []) =>
  (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM iotctl.points WHERE ${where}`, values))
    .rows[0]!.n;

describe.each(targetKinds)('maintenance on the %s target', (kind) => {
  let target: TestTarget;
  const tsdb = engineOf(kind) === 'timescaledb';
  // TimescaleDB compresses chunks, Citus converts partitions to columnar; plain mode refuses.
  const compresses = engineOf(kind) !== 'plain';
  // A real TimescaleDB server's scheduler runs the policies too (job_stats), beside iotctl's own runs (ledger).
  const scheduler = kind === 'external' && tsdb;
  const runsAtLeast = (n: number, expected: number) =>
    scheduler ? expect(n).toBeGreaterThanOrEqual(expected) : expect(n).toBe(expected);
  beforeAll(async () => {
    target = await makeTarget(kind);
    await withOpen(target, async (db) => {
      // Plain partitions exist only where init made them: give the seeded 40 days theirs.
      await ensureDaysBack(db, await initTestStore(db, '1h'), 42);
      await seedReadings(db);
    });
  });
  afterAll(async () => target.cleanup());

  it('sets, shows, changes and removes a retention policy idempotently', async () => {
    await withOpen(target, async (db) => {
      const store = await loadStore(db);
      expect((await setPolicy(db, store, 'retention', 'rollup_1h', parseDuration('60d'))).status).toBe(
        'created',
      );
      expect((await setPolicy(db, store, 'retention', 'rollup_1h', parseDuration('60d'))).status).toBe(
        'unchanged',
      );
      expect((await setPolicy(db, store, 'retention', 'rollup_1h', parseDuration('50d'))).status).toBe(
        'updated',
      );
      const shown = await showPolicies(db, store, 'retention');
      expect(shown.map((j) => [j.name, j.after])).toEqual([['retention:rollup_1h', '50 days']]);
      expect((await removePolicy(db, store, 'retention', 'rollup_1h')).status).toBe('removed');
      expect((await removePolicy(db, store, 'retention', 'rollup_1h')).status).toBe('absent');
      expect(await showPolicies(db, store, 'retention')).toEqual([]);
    });
  });

  it('changes how often a rollup is refreshed', async () => {
    await withOpen(target, async (db) => {
      const store = await loadStore(db);
      const before = (await showPolicies(db, store, 'refresh')).map((j) => [j.name, j.scheduleSeconds]);
      expect(before).toEqual([['refresh:rollup_1h', 3600]]);
      expect((await setPolicy(db, store, 'refresh', 'rollup_1h', parseDuration('30m'))).status).toBe(
        tsdb ? 'updated' : 'created',
      );
      expect((await setPolicy(db, store, 'refresh', 'rollup_1h', parseDuration('30m'))).status).toBe(
        'unchanged',
      );
      const after = (await showPolicies(db, store, 'refresh')).map((j) => [j.name, j.scheduleSeconds]);
      expect(after).toEqual([['refresh:rollup_1h', 1800]]);
      await setPolicy(db, store, 'refresh', 'rollup_1h', parseDuration('1h'));
    });
  });

  it(
    compresses ? 'sets and removes a compression policy' : 'refuses compression in plain mode with exit 2',
    async () => {
      await withOpen(target, async (db) => {
        const store = await loadStore(db);
        if (!compresses) {
          await expect(
            setPolicy(db, store, 'compression', 'points', parseDuration('7d')),
          ).rejects.toMatchObject({
            code: 'NEEDS_TIMESCALEDB',
            exitCode: 2,
            message: expect.stringMatching(/compression needs TimescaleDB/),
          });
          await expect(compressRun(db, { dryRun: true })).rejects.toMatchObject({
            code: 'NEEDS_TIMESCALEDB',
          });
          return;
        }
        expect((await setPolicy(db, store, 'compression', 'points', parseDuration('10d'))).status).toBe(
          'created',
        );
        expect((await setPolicy(db, store, 'compression', 'points', parseDuration('7d'))).status).toBe(
          'updated',
        );
        if (tsdb) {
          const { rows } = await db.query<{ after: string }>(
            `SELECT config->>'compress_after' AS after FROM timescaledb_information.jobs
              WHERE proc_name = 'policy_compression' AND hypertable_name = 'points'`,
          );
          expect(rows).toEqual([{ after: '7 days' }]);
        } else {
          expect((await showPolicies(db, store, 'compression')).map((j) => j.after)).toEqual(['7 days']);
        }
        expect((await removePolicy(db, store, 'compression', 'points')).status).toBe('removed');
        // The rollups' own compression policies (init's, TimescaleDB only) stay.
        expect((await showPolicies(db, store, 'compression')).map((j) => j.target)).toEqual(
          tsdb ? store.rollups.map((r) => r.name) : [],
        );
      });
    },
  );

  it('retention --dry-run lists exactly the chunks the real run drops; newer rows survive', async () => {
    await withOpen(target, async (db) => {
      await expect(retentionRun(db, { dryRun: false, yes: false })).rejects.toMatchObject({ exitCode: 2 });
      await expect(
        retentionRun(db, { olderThan: parseDuration('37d'), dryRun: false, yes: false }),
      ).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/needs --yes/) });
      // Plain mode drops nothing the rollups have not taken in: bring them up to date first.
      await rollupRefresh(db, [], {});
      const dry = await retentionRun(db, { olderThan: parseDuration('37d'), dryRun: true, yes: false });
      expect(Object.keys(dry)).toEqual([
        'target',
        'dryRun',
        'olderThan',
        'cutoff',
        'chunks',
        'dropped',
        'heldBack',
      ]);
      expect(dry.heldBack).toBeNull();
      expect(Object.keys(dry.chunks[0]!)).toEqual([
        'chunk',
        'rangeStart',
        'rangeEnd',
        'rowsEstimate',
        'bytes',
      ]);
      expect(dry.chunks.length).toBeGreaterThanOrEqual(2);
      expect(dry.dropped).toEqual([]);
      for (const c of dry.chunks)
        expect(new Date(c.rangeEnd).getTime()).toBeLessThanOrEqual(dry.cutoff.getTime());
      const newer = await count(db, 'time >= $1', [dry.cutoff]);
      const total = await count(db, 'true');
      const real = await retentionRun(db, { olderThan: parseDuration('37d'), dryRun: false, yes: true });
      expect(real.dropped.sort()).toEqual(dry.chunks.map((c) => c.chunk).sort());
      expect(await count(db, 'time >= $1', [dry.cutoff])).toBe(newer);
      const gone = total - (await count(db, 'true'));
      expect(gone).toBeGreaterThan(0);
      // Only whole chunks go: what is left older than the cutoff lies in the chunk that straddles it.
      expect(await count(db, 'time < $1', [new Date(dry.cutoff.getTime() - DAY)])).toBe(0);
      const again = await retentionRun(db, { olderThan: parseDuration('37d'), dryRun: true, yes: false });
      expect(again.chunks).toEqual([]);
    });
  });

  it('maintain runs what is due, records it, and skips it next time; --force runs everything', async () => {
    await withOpen(target, async (db) => {
      // A real scheduler runs new policies at once, racing maintain: this test is about maintain doing the
      // work, so the database's scheduler is stopped for it (as on a server whose workers ran out).
      if (scheduler) await db.query('SELECT _timescaledb_functions.stop_background_workers()');
      try {
        await maintainRunsWhatIsDue(db);
      } finally {
        if (scheduler) await db.query('SELECT _timescaledb_functions.start_background_workers()');
      }
    });
  });

  async function maintainRunsWhatIsDue(db: Db): Promise<void> {
    const store = await loadStore(db);
    await setPolicy(db, store, 'retention', 'points', parseDuration('30d'));
    if (compresses) await setPolicy(db, store, 'compression', 'points', parseDuration('7d'));
    const dry = await maintain(db, { dryRun: true, force: false });
    // TimescaleDB compresses the rollups too (on a server its scheduler may have run that policy as
    // soon as init created it, before the test stopped the scheduler: then it is not due); Citus converts
    // only points' partitions.
    const ranEarly = (j: string) => scheduler && j === 'compression:rollup_1h';
    const listed = <J extends { job: string }>(jobs: J[]) => jobs.filter((j) => !ranEarly(j.job));
    const expected = (
      tsdb
        ? // The events get the readings' compression and retention policies as jobs of their own.
          [
            'refresh:rollup_1h',
            'compression:rollup_1h',
            'compression:points',
            'compression:events',
            'retention:points',
            'retention:events',
          ]
        : compresses
          ? ['refresh:rollup_1h', 'compression:points', 'retention:points']
          : ['refresh:rollup_1h', 'retention:points']
    ).filter((j) => !ranEarly(j));
    expect(listed(dry.jobs).map((j) => [j.job, j.status])).toEqual(expected.map((j) => [j, 'would run']));
    expect(await count(db, `time < now() - interval '31 days'`)).toBeGreaterThan(0);

    const first = await maintain(db, { dryRun: false, force: false });
    expect(listed(first.jobs).map((j) => [j.job, j.status, j.error])).toEqual(
      expected.map((j) => [j, 'success', null]),
    );
    expect(first.failed).toBe(0);
    expect(await count(db, `time < now() - interval '31 days'`)).toBe(0);
    expect(await count(db, `time > now() - interval '29 days'`)).toBeGreaterThan(0);
    // Regression: maintain's retention on TimescaleDB went through the policy's own procedure (run_job),
    // which drops every chunk in one transaction; it now drops in iotctl's batches and records what went.
    const ledger = await db.query<{ details: { dropped: string[] } }>(
      `SELECT details FROM iotctl.job_runs WHERE job = 'retention:points' ORDER BY id DESC LIMIT 1`,
    );
    expect(ledger.rows[0]!.details.dropped.length).toBeGreaterThan(0);
    const hourly = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM iotctl.rollup_1h');
    expect(hourly.rows[0]!.n).toBeGreaterThan(0);
    if (tsdb) {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM timescaledb_information.chunks
            WHERE hypertable_name = 'points' AND is_compressed`,
      );
      expect(rows[0]!.n).toBeGreaterThanOrEqual(20);
      // Exactly the chunks entirely older than the policy's 7 days, and nothing newer.
      const wrong = await db.query(
        `SELECT chunk_name, range_end, is_compressed FROM timescaledb_information.chunks
            WHERE hypertable_name = 'points' AND is_compressed <> (range_end <= now() - interval '7 days')`,
      );
      expect(wrong.rows).toEqual([]);
    } else {
      expect(first.partitionsCreated).toBe(0);
    }
    if (engineOf(kind) === 'citus') {
      // Columnar exactly where the partition is entirely older than the policy's 7 days.
      const wrong = await db.query(
        `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_am a ON a.oid = c.relam
          WHERE i.inhparent = 'iotctl.points'::regclass
            AND (a.amname = 'columnar') <> ((regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz <= now() - interval '7 days')`,
      );
      expect(wrong.rows).toEqual([]);
    }

    const second = await maintain(db, { dryRun: false, force: false });
    expect(second.jobs).toEqual([]);
    expect(listed(second.notDue).map((j) => j.job)).toEqual(expected);
    const forced = await maintain(db, { dryRun: false, force: true });
    expect(listed(forced.jobs).map((j) => j.status)).toEqual(expected.map(() => 'success'));

    const list = await jobs(db);
    expect(Object.keys(list[0]!)).toEqual([
      'id',
      'name',
      'kind',
      'target',
      'schedule',
      'scheduleSeconds',
      'after',
      'lastRunStarted',
      'lastSuccess',
      'lastStatus',
      'totalRuns',
      'totalFailures',
      'lastError',
      'nextStart',
      'failing',
    ]);
    const retention = list.find((j) => j.name === 'retention:points')!;
    runsAtLeast(retention.totalRuns, 2);
    expect(retention.lastStatus).toBe('success');
    expect(retention.nextStart!.getTime()).toBeGreaterThan(Date.now());
  }

  it('a failing job shows in jobs and status, and maintain reports it', async () => {
    await withOpen(target, async (db) => {
      let failing: string;
      let repair: () => Promise<void>;
      if (tsdb) {
        // A compression job whose config lacks its age fails every run.
        failing = 'compression:points';
        const { rows } = await db.query<{ id: number; config: unknown }>(
          `SELECT job_id AS id, config FROM timescaledb_information.jobs
            WHERE proc_name = 'policy_compression' AND hypertable_name = 'points'`,
        );
        const job = rows[0]!;
        await db.query(
          `SELECT alter_job($1, config => jsonb_build_object('hypertable_id', ($2::jsonb)->'hypertable_id'))`,
          [job.id, JSON.stringify(job.config)],
        );
        repair = async () => {
          await db.query('SELECT alter_job($1, config => $2::jsonb)', [job.id, JSON.stringify(job.config)]);
        };
      } else {
        // The rollup table refuses the rows a plain refresh writes.
        failing = 'refresh:rollup_1h';
        // A late reading inside the last complete hour, which the next refresh recomputes.
        await db.query(
          `INSERT INTO iotctl.points VALUES (date_trunc('hour', now()) - interval '30 minutes', 1, 5)`,
        );
        await db.query('ALTER TABLE iotctl.rollup_1h ADD CONSTRAINT refuse_all CHECK (count < 0) NOT VALID');
        repair = async () => {
          await db.query('ALTER TABLE iotctl.rollup_1h DROP CONSTRAINT refuse_all');
        };
      }
      const run = await maintain(db, { dryRun: false, force: true });
      expect(run.failed).toBe(1);
      const bad = run.jobs.find((j) => j.job === failing)!;
      expect(bad.status).toBe('failed');
      expect(bad.error).toMatch(tsdb ? /compress_after/ : /rollup_1h/);
      // The other jobs still ran.
      expect(run.jobs.filter((j) => j.status === 'success').length).toBe(run.jobs.length - 1);

      const listed = (await jobs(db)).find((j) => j.name === failing)!;
      expect(listed).toMatchObject({ failing: true, lastStatus: 'failed' });
      expect(listed.lastError).toBe(bad.error);
      runsAtLeast(listed.totalFailures, 1);
      const st = await status(db);
      expect(st.healthy).toBe(false);
      expect(st.problems.join('\n')).toContain(failing);
      // Regression: maintain exited 0 while a job was failing, when that job was not due in this run (as after
      // the TimescaleDB scheduler's own failed run): the failure is reported as status reports it.
      const later = await maintain(db, { dryRun: false, force: false });
      expect(later.jobs.map((j) => j.job)).not.toContain(failing);
      expect(later.notDue.find((j) => j.job === failing)).toMatchObject({ failing: true, error: bad.error });
      expect(
        failedJobsError(
          later.jobs,
          later.notDue.filter((j) => j.failing),
        ),
      ).toMatchObject({
        exitCode: 5,
        message: expect.stringContaining(`job ${failing} is failing`),
      });

      await repair();
      const rerun = await runJobNow(db, failing);
      expect(rerun.status).toBe('success');
      expect((await status(db)).healthy).toBe(true);
    });
  });

  // The embedded target has one session per process (the data-directory lock keeps others out, see
  // test/e2e/maintain.test.ts); on a server two sessions compete for the advisory lock.
  it.runIf(kind !== 'embedded')(
    'a maintain while another session holds the maintenance lock is BUSY (exit 6)',
    async () => {
      await withOpen(target, async (db) => {
        const { MAINTENANCE_LOCK_KEY } = await import('../../src/commands/maintain.js');
        const held = await db.tryAdvisoryLock(MAINTENANCE_LOCK_KEY);
        expect(held).not.toBeNull();
        try {
          await expect(maintain(db, { dryRun: true, force: false })).rejects.toMatchObject({
            code: 'BUSY',
            exitCode: 6,
          });
        } finally {
          await held!.release();
        }
        await expect(maintain(db, { dryRun: true, force: false })).resolves.toMatchObject({ dryRun: true });
      });
    },
  );
});
