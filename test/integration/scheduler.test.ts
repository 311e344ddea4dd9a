// What only a real TimescaleDB server shows: its scheduler runs the policies in background workers. Runs on the
// external target (IOTCTL_TEST_DATABASE_URL) when that is a TimescaleDB server; skipped everywhere else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadStore } from '../../src/db/store.js';
import type { Db } from '../../src/db/types.js';
import { jobs } from '../../src/maintenance/jobs.js';
import { failedJobsError, maintain } from '../../src/maintenance/maintain.js';
import { status } from '../../src/maintenance/status.js';
import { parseDuration } from '../../src/util/duration.js';
import { initOptions } from '../helpers/store.js';
import { init } from '../../src/maintenance/init.js';
import { engineOf, makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';

const onScheduler = targetKinds.includes('external') && engineOf('external') === 'timescaledb';

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.runIf(onScheduler)('the TimescaleDB scheduler on a real server', () => {
  let target: TestTarget;
  let db: Db;
  // By the job's table too: init compresses the rollups like the readings, so there is more than one
  // compression policy (the rollup's listed under the view's name).
  const jobId = async (proc: string, table: string) =>
    (
      await db.query<{ id: number }>(
        `SELECT job_id AS id FROM timescaledb_information.jobs
          WHERE proc_name = $1 AND hypertable_schema = 'iotctl' AND hypertable_name = $2`,
        [proc, table],
      )
    ).rows[0]!.id;
  /** Lets the scheduler run a job now, then every `every`. */
  const runSoon = (id: number, every = '1 hour') =>
    db.query(`SELECT alter_job($1, schedule_interval => $2::interval, next_start => now())`, [id, every]);

  beforeAll(async () => {
    target = await makeTarget('external');
    db = await target.open();
    await init(db, initOptions({ rollups: '1h' }));
    await db.query(`INSERT INTO iotctl.series (device_id, metric) VALUES ('d1', 'temp')`);
    await db.query(
      `INSERT INTO iotctl.points SELECT t, 1, 20 FROM generate_series(now() - interval '3 days', now(), interval '5 minutes') t`,
    );
  });
  afterAll(async () => {
    await db.close();
    await target.cleanup();
  });

  it('a policy run by the background worker fills job_stats, and iotctl jobs shows that run', async () => {
    const id = await jobId('policy_refresh_continuous_aggregate', 'rollup_1h');
    await runSoon(id);
    const run = await waitFor('the scheduler to run the refresh policy', async () => {
      const j = (await jobs(db)).find((x) => x.id === id);
      return j?.lastStatus === 'success' && j.totalRuns > 0 ? j : undefined;
    });
    expect(run).toMatchObject({ name: 'refresh:rollup_1h', failing: false, schedule: '1 hour' });
    expect(run.lastRunStarted!.getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(run.nextStart!.getTime()).toBeGreaterThan(Date.now());
    // maintain does not rerun a job the scheduler ran on time.
    const m = await maintain(db, { dryRun: false, force: false });
    expect(m.jobs.map((j) => j.job)).not.toContain('refresh:rollup_1h');
    expect(m.notDue.map((j) => j.job)).toContain('refresh:rollup_1h');
  });

  it('a job that fails at its first run: jobs and status report it (no Invalid time value), maintain exits 5', async () => {
    // The policy and the damage in one transaction: the scheduler's first run is a failure, so job_stats
    // has last_successful_finish = -infinity (status and jobs exited 1 on it: Invalid time value).
    const store = await loadStore(db);
    await db.transaction(async (tx) => {
      await tx.query(store.engine.policyStatement('compression', 'points', parseDuration('7d')));
      await tx.query(
        `SELECT alter_job(job_id, config => jsonb_build_object('hypertable_id', config->'hypertable_id'))
           FROM timescaledb_information.jobs
          WHERE proc_name = 'policy_compression' AND hypertable_schema = 'iotctl' AND hypertable_name = 'points'`,
      );
    });
    const id = await jobId('policy_compression', 'points');
    try {
      await runSoon(id);
      const failed = await waitFor('the scheduler to fail the compression policy', async () => {
        const j = (await jobs(db)).find((x) => x.id === id);
        return j?.lastStatus === 'failed' ? j : undefined;
      });
      // job_stats' last_successful_finish is -infinity for a job that never succeeded.
      expect(failed).toMatchObject({ failing: true, lastSuccess: null });
      expect(failed.lastError).toMatch(/compress_after|config/);
      const st = await status(db);
      expect(st.healthy).toBe(false);
      expect(st.problems.join('\n')).toContain('compression:points');
      expect(() => JSON.stringify(st)).not.toThrow();
      const m = await maintain(db, { dryRun: false, force: false });
      const failing = m.notDue.filter((j) => j.failing);
      if (!m.jobs.some((j) => j.job === 'compression:points')) {
        expect(failing.map((j) => j.job)).toContain('compression:points');
      }
      expect(failedJobsError(m.jobs, failing).exitCode).toBe(5);
    } finally {
      await db.query('SELECT delete_job($1)', [id]);
    }
  });
});
