// The jobs iotctl knows about (each engine lists its own: TimescaleDB policies, or iotctl's in plain mode)
// and what their listings share.
// The embedded database has no background workers and `run_job` does not update job_stats there,
// so iotctl's own ledger (iotctl.job_runs) is the record of what ran; on a server both are read and
// the newer wins.
import { ledgerSummary } from './sql/maintenance.js';
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

export interface LedgerRow {
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

export function kindOf(proc: string): JobInfo['kind'] {
  if (proc === 'policy_compression') return 'compression';
  if (proc === 'policy_retention') return 'retention';
  if (proc === 'policy_refresh_continuous_aggregate') return 'refresh';
  return 'other';
}

const kindOrder = ['refresh', 'compression', 'retention', 'other'];

/**
 * The order maintain runs jobs in: refresh before compression before retention, so rollups see rows before
 * they are dropped; refreshes by rollup position, finest first, each seeing its source up to date.
 */
export function byRunOrder(store: { rollups: Array<{ name: string }> }) {
  return (a: { kind: string; target: string }, b: { kind: string; target: string }) =>
    kindOrder.indexOf(a.kind) - kindOrder.indexOf(b.kind) ||
    rollupOrder(store, a.target) - rollupOrder(store, b.target);
}

export function jobName(kind: JobInfo['kind'], target: string): string {
  return `${kind}:${target}`;
}

export function normaliseStatus(s: string | null): JobInfo['lastStatus'] {
  if (!s) return null;
  const v = s.toLowerCase();
  if (v === 'success') return 'success';
  if (v === 'failure' || v === 'failed') return 'failed';
  return 'running';
}

export function latestOf(a: Date | null, b: Date | null): Date | null {
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
function rollupOrder(store: { rollups: Array<{ name: string }> }, target: string): number {
  const i = store.rollups.findIndex((r) => r.name === target);
  return i < 0 ? store.rollups.length : i;
}

const intervalUnits: Array<[number, string]> = [
  [86_400, 'day'],
  [3_600, 'hour'],
  [60, 'minute'],
  [1, 'second'],
];

/**
 * An interval as every engine's job listing shows it: `5 minutes`, `1 day`, `36 hours` (the largest unit that
 * divides it), whatever text the catalog gave (`00:05:00` on TimescaleDB, `5 minutes` in iotctl.policies).
 */
export function intervalText(seconds: number | null): string | null {
  if (seconds === null || !Number.isFinite(seconds)) return null;
  if (seconds === 0) return '0 seconds';
  for (const [size, unit] of intervalUnits) {
    if (seconds % size === 0) {
      const n = seconds / size;
      return `${n} ${unit}${n === 1 ? '' : 's'}`;
    }
  }
  return `${seconds} seconds`;
}
