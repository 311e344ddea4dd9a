// How job listings read TimescaleDB's catalog: infinite timestamps, one interval format, retention batches.
import { describe, expect, it } from 'vitest';
import { intervalText } from '../../src/db/jobs.js';
import type { ChunkRow } from '../../src/db/sql/maintenance.js';
import { dropBatches } from '../../src/engine/common.js';
import { tsdbJobInfo, type TsdbJobRow } from '../../src/engine/timescaledb.js';
import { when } from '../../src/output/maintenance.js';
import { renderJson } from '../../src/output/render.js';

const row = (over: Partial<TsdbJobRow>): TsdbJobRow => ({
  job_id: 1000,
  proc_name: 'policy_compression',
  target: 'points',
  schedule: '12:00:00',
  schedule_seconds: 43_200,
  after: '7 days',
  after_seconds: 604_800,
  last_run_started_at: new Date('2026-12-01T10:00:00Z'),
  last_successful_finish: new Date('2026-12-01T10:00:05Z'),
  last_run_status: 'Success',
  total_runs: 3,
  total_failures: 0,
  next_start: new Date('2026-12-01T22:00:00Z'),
  last_error: null,
  ...over,
});

describe('TimescaleDB job listing', () => {
  it('a job that failed and never succeeded (last_successful_finish -infinity) lists without an error', () => {
    // pg parses -infinity as the number -Infinity; printing it threw "Invalid time value" (status, jobs: exit 1).
    const job = tsdbJobInfo(
      row({ last_successful_finish: -Infinity, last_run_status: 'Failed', last_error: 'boom' }),
      undefined,
      false,
    );
    expect(job).toMatchObject({ lastSuccess: null, lastStatus: 'failed', failing: true, lastError: 'boom' });
    expect(() => when(job.lastSuccess)).not.toThrow();
    expect(() => renderJson(job)).not.toThrow();
    expect(tsdbJobInfo(row({ next_start: Infinity }), undefined, false).nextStart).toBeNull();
  });

  it('shows schedules and ages in one format on every engine', () => {
    expect(tsdbJobInfo(row({}), undefined, false)).toMatchObject({ schedule: '12 hours', after: '7 days' });
    expect(intervalText(300)).toBe('5 minutes');
    expect(intervalText(86_400)).toBe('1 day');
    expect(intervalText(129_600)).toBe('36 hours');
    expect(intervalText(90)).toBe('90 seconds');
    expect(intervalText(1_209_600)).toBe('14 days');
    expect(intervalText(null)).toBeNull();
  });

  it('the ledger wins over job_stats when its run is newer', () => {
    const ledger = {
      job: 'compression:points',
      last_started: new Date('2026-12-01T11:00:00Z'),
      last_status: 'failed' as const,
      last_success: null,
      runs: 1,
      failures: 1,
      last_error: 'ledger error',
    };
    expect(tsdbJobInfo(row({}), ledger, false)).toMatchObject({
      lastStatus: 'failed',
      lastError: 'ledger error',
    });
    expect(
      tsdbJobInfo(row({}), { ...ledger, last_started: new Date('2026-12-01T09:00:00Z') }, false),
    ).toMatchObject({
      lastStatus: 'success',
    });
  });
});

describe('retention drops in bounded batches', () => {
  const day = 86_400_000;
  const chunk = (i: number): ChunkRow => ({
    chunk: `_timescaledb_internal._hyper_1_${i}_chunk`,
    range_start: new Date(Date.UTC(2020, 0, 1) + i * day),
    range_end: new Date(Date.UTC(2020, 0, 1) + (i + 1) * day),
    compressed: true,
    rows_estimate: 10,
    bytes_before: 100,
    bytes: 10,
  });

  it('2,000 chunks become 20 transactions of 100, each bounded by its newest chunk', () => {
    const chunks = Array.from({ length: 2000 }, (_, i) => chunk(1999 - i)); // any order in
    const batches = dropBatches(chunks);
    expect(batches).toHaveLength(20);
    expect(batches.every((b) => b.chunks.length === 100)).toBe(true);
    expect(batches[0]!.olderThan).toEqual(chunk(99).range_end);
    expect(batches[19]!.olderThan).toEqual(chunk(1999).range_end);
    // Each batch's bound drops exactly its chunks: the next batch starts at or after it.
    for (let i = 1; i < batches.length; i++) {
      expect(batches[i]!.chunks[0]!.range_end.getTime()).toBeGreaterThan(batches[i - 1]!.olderThan.getTime());
    }
    expect(dropBatches([])).toEqual([]);
  });
});
