// The jobs iotctl knows about (TimescaleDB policies, or iotctl's own in plain mode) and their health.
// The embedded database has no background workers and `run_job` does not update job_stats there,
// so iotctl's own ledger (iotctl.job_runs) is the record of what ran; on a server both are read and
// the newer wins.
import { ledgerSummary } from './sql/maintenance.js';
import { POLICIES, refreshSchedule } from './sql/schema.js';
import { SCHEMA } from './sql/ident.js';
import type { Store } from './store.js';
import type { Db } from './types.js';

export interface JobInfo {
  id: number | null;
  /** Stable name: compression:points, retention:points, refresh:rollup_1h */
  name: string;
  kind: 'compression' | 'retention' | 'refresh' | 'other';
  target: string;
  schedule: string | null;
  scheduleSeconds: number | null;
  /** compress_after / drop_after for policies. */
  after: string | null;
  lastRunStarted: Date | null;
  lastSuccess: Date | null;
  lastStatus: 'success' | 'failed' | 'running' | null;
  totalRuns: number;
  totalFailures: number;
  lastError: string | null;
  nextStart: Date | null;
  failing: boolean;
}

interface LedgerRow {
  job: string;
  last_started: Date | null;
  last_status: 'success' | 'failed' | 'running' | null;
  last_success: Date | null;
  runs: number;
  failures: number;
  last_error: string | null;
}

export async function readLedger(db: Db): Promise<Map<string, LedgerRow>> {
  const { rows } = await db.query<LedgerRow>(ledgerSummary());
  return new Map(rows.map((r) => [r.job, r]));
}

function kindOf(proc: string): JobInfo['kind'] {
  if (proc === 'policy_compression') return 'compression';
  if (proc === 'policy_retention') return 'retention';
  if (proc === 'policy_refresh_continuous_aggregate') return 'refresh';
  return 'other';
}

interface TsdbJobRow {
  job_id: number;
  proc_name: string;
  target: string;
  schedule: string | null;
  schedule_seconds: number | null;
  after: string | null;
  last_run_started_at: Date | null;
  last_successful_finish: Date | null;
  last_run_status: string | null;
  total_runs: number | null;
  total_failures: number | null;
  next_start: Date | null;
  last_error: string | null;
}

async function tsdbJobs(db: Db): Promise<TsdbJobRow[]> {
  const { rows } = await db.query<TsdbJobRow>(
    `SELECT j.job_id, j.proc_name,
            j.hypertable_name AS target,
            j.schedule_interval::text AS schedule,
            extract(epoch FROM j.schedule_interval)::float8 AS schedule_seconds,
            coalesce(j.config->>'compress_after', j.config->>'drop_after', j.config->>'end_offset') AS after,
            s.last_run_started_at, s.last_successful_finish, s.last_run_status,
            s.total_runs::int AS total_runs, s.total_failures::int AS total_failures, s.next_start,
            (SELECT e.err_message FROM timescaledb_information.job_errors e
              WHERE e.job_id = j.job_id ORDER BY e.start_time DESC LIMIT 1) AS last_error
       FROM timescaledb_information.jobs j
       LEFT JOIN timescaledb_information.job_stats s ON s.job_id = j.job_id
      WHERE j.proc_name LIKE 'policy_%' AND j.hypertable_schema = $1
      ORDER BY j.job_id`,
    [SCHEMA],
  );
  return rows;
}

const kindOrder = ['refresh', 'compression', 'retention', 'other'];

/**
 * The order maintain runs jobs in: refresh before compression before retention, so rollups see rows before
 * they are dropped; refreshes by rollup position, finest first, each seeing its source up to date.
 */
function byRunOrder(store: Store) {
  return (a: { kind: string; target: string }, b: { kind: string; target: string }) =>
    kindOrder.indexOf(a.kind) - kindOrder.indexOf(b.kind) ||
    rollupOrder(store, a.target) - rollupOrder(store, b.target);
}

export function jobName(kind: JobInfo['kind'], target: string): string {
  return `${kind}:${target}`;
}

export async function listJobs(db: Db, store: Store): Promise<JobInfo[]> {
  const ledger = await readLedger(db);
  const jobs: JobInfo[] = [];
  const embedded = db.target.kind === 'embedded';
  if (store.mode === 'timescaledb') {
    for (const r of await tsdbJobs(db)) {
      const kind = kindOf(r.proc_name);
      const name = jobName(kind, r.target);
      const l = ledger.get(name);
      // job_stats is not kept by run_job on the embedded build: there the ledger is the only record.
      const statsStarted = embedded ? null : r.last_run_started_at;
      const useLedger = l && (!statsStarted || (l.last_started && l.last_started > statsStarted));
      const lastStatus = useLedger ? l.last_status : normaliseStatus(r.last_run_status);
      jobs.push({
        id: r.job_id,
        name,
        kind,
        target: r.target,
        schedule: r.schedule,
        scheduleSeconds: r.schedule_seconds,
        after: r.after,
        lastRunStarted: useLedger ? l.last_started : statsStarted,
        lastSuccess: latest(l?.last_success ?? null, embedded ? null : r.last_successful_finish),
        lastStatus,
        totalRuns: (l?.runs ?? 0) + (embedded ? 0 : (r.total_runs ?? 0)),
        totalFailures: (l?.failures ?? 0) + (embedded ? 0 : (r.total_failures ?? 0)),
        lastError: useLedger ? l.last_error : (r.last_error ?? l?.last_error ?? null),
        nextStart: embedded ? nextStartFrom(l?.last_started ?? null, r.schedule_seconds) : r.next_start,
        failing: lastStatus === 'failed',
      });
    }
    // Refresh jobs run finest rollup first whatever their job ids (re-adding a policy gives it a new, higher id).
    jobs.sort(byRunOrder(store));
  } else {
    const { rows } = await db.query<{
      kind: string;
      target: string;
      after: string;
      schedule: string;
      seconds: number;
    }>(
      `SELECT kind, target, after::text AS after, schedule::text AS schedule,
              extract(epoch FROM schedule)::float8 AS seconds
         FROM ${POLICIES} ORDER BY kind, target`,
    );
    // Every rollup is refreshed; a 'refresh' row in iotctl.policies only changes its schedule.
    const refreshDefaults = store.rollups
      .filter((r) => !rows.some((p) => p.kind === 'refresh' && p.target === r.name))
      .map((r) => {
        const schedule = refreshSchedule(r.bucket);
        return {
          kind: 'refresh',
          target: r.name,
          after: null,
          schedule: schedule.interval,
          seconds: schedule.ms / 1000,
        };
      });
    const plainJobs = [...rows, ...refreshDefaults].sort(byRunOrder(store));
    for (const p of plainJobs) {
      const name = jobName(p.kind as JobInfo['kind'], p.target);
      const l = ledger.get(name);
      jobs.push({
        id: null,
        name,
        kind: p.kind as JobInfo['kind'],
        target: p.target,
        schedule: p.schedule,
        scheduleSeconds: p.seconds,
        after: p.after,
        lastRunStarted: l?.last_started ?? null,
        lastSuccess: l?.last_success ?? null,
        lastStatus: l?.last_status ?? null,
        totalRuns: l?.runs ?? 0,
        totalFailures: l?.failures ?? 0,
        lastError: l?.last_error ?? null,
        nextStart: nextStartFrom(l?.last_started ?? null, p.seconds),
        failing: l?.last_status === 'failed',
      });
    }
  }
  return jobs;
}

function normaliseStatus(s: string | null): JobInfo['lastStatus'] {
  if (!s) return null;
  const v = s.toLowerCase();
  if (v === 'success') return 'success';
  if (v === 'failure' || v === 'failed') return 'failed';
  return 'running';
}

function latest(a: Date | null, b: Date | null): Date | null {
  if (!a) return b;
  if (!b) return a;
  return a > b ? a : b;
}

/** Next start as iotctl schedules it: one schedule interval after the last run began (null: due now). */
export function nextStartFrom(lastStarted: Date | null, scheduleSeconds: number | null): Date | null {
  if (!lastStarted || scheduleSeconds === null) return null;
  return new Date(new Date(lastStarted).getTime() + scheduleSeconds * 1000);
}

/** Finest rollup first; points (and anything else) after the rollups. */
function rollupOrder(store: Store, target: string): number {
  const i = store.rollups.findIndex((r) => r.name === target);
  return i < 0 ? store.rollups.length : i;
}
