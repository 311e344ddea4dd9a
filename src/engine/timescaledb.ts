// The TimescaleDB engine: points as a hypertable, rollups as hierarchical real-time continuous aggregates,
// compression, and policies as TimescaleDB jobs run by its scheduler (or by `maintain` through run_job).
import { attachChunkAvailable, pointsChunkInterval } from '../db/sql/attach.js';
import {
  byRunOrder,
  intervalText,
  jobName,
  kindOf,
  latestOf,
  nextStartFrom,
  normaliseStatus,
  readLedger,
  type JobInfo,
  type LedgerRow,
} from '../db/jobs.js';
import { tsdbChunksOverlapping } from '../db/sql/analyse.js';
import { qualified } from '../db/sql/ident.js';
import {
  dbNow,
  dropChunksOlderThan,
  tsdbChunkTotals,
  tsdbChunks,
  tsdbRefreshPolicies,
  tsdbRetentionAges,
  tsdbRollupSizes,
  type ChunkRow,
} from '../db/sql/maintenance.js';
import { latestReadings, pendingInvalidations, type SeriesFilter } from '../db/sql/query.js';
import {
  POINTS,
  baseSteps,
  commonSteps,
  eventSteps,
  type InitOptions,
  type SchemaStep,
} from '../db/sql/schema.js';
import {
  addCompressionPolicy,
  addRefreshPolicy,
  addRetentionPolicy,
  caggWatermark,
  chunkTimeRanges,
  compressChunk,
  compressionStep,
  caggCounterUpgradeSteps,
  eventCompressionStep,
  eventHypertableSteps,
  continuousAggregateSteps,
  createExtension,
  decompressChunk,
  hasAttachChunk,
  hypertableSteps,
  refreshContinuousAggregate,
  removeCompressionPolicy,
  removeRefreshPolicy,
  removeRetentionPolicy,
  runJob,
  setChunkInterval,
  timeBucket,
  schedulerState,
  tsdbJobs,
  tsdbRetentionCutoffs,
  materializationTable,
  type SchedulerRow,
  type TsdbVersion,
} from '../db/sql/timescale.js';
import type { Capabilities, Db, Sql } from '../db/types.js';
import { IotctlError } from '../errors.js';
import {
  applyRetention,
  dbCutoff,
  hasEventsTable,
  dropInBatches,
  policyValue,
  refreshStartOffset,
  removalOf,
  retentionTarget,
  rollupSource,
  sameInterval,
} from './common.js';
import { floorToBucket } from '../util/buckets.js';
import { parseDuration, type Duration } from '../util/duration.js';
import { refreshWindowOf, refreshWindows, type MsRange, type RefreshWindow } from './windows.js';
import type {
  ChunkTotals,
  InitObject,
  PolicyChange,
  PolicyKind,
  RefreshOptions,
  RefreshProgress,
  Rollup,
  RollupBase,
  RollupCompleteness,
  RollupRefresh,
  SeriesGroups,
  StorageEngine,
  Store,
} from './types.js';

export interface TsdbJobRow {
  job_id: number;
  proc_name: string;
  target: string;
  schedule: string | null;
  schedule_seconds: number | null;
  after: string | null;
  after_seconds: number | null;
  /** Timestamps as pg parses them: `-infinity` arrives as the number -Infinity. */
  last_run_started_at: Date | number | null;
  last_successful_finish: Date | number | null;
  last_run_status: string | null;
  total_runs: number | null;
  total_failures: number | null;
  next_start: Date | number | null;
  last_error: string | null;
}

/** A timestamp from job_stats, or null: `-infinity` (a job that never succeeded) and `infinity` are no time. */
function finiteTime(v: Date | number | null): Date | null {
  if (v === null || v === undefined) return null;
  const d = v instanceof Date ? v : new Date(v);
  return Number.isFinite(d.getTime()) ? d : null;
}

/**
 * One job from TimescaleDB's catalog and iotctl's ledger, the newer run winning. job_stats is not kept by
 * run_job on the embedded build: there the ledger is the only record.
 */
export function tsdbJobInfo(r: TsdbJobRow, l: LedgerRow | undefined, embedded: boolean): JobInfo {
  const kind = kindOf(r.proc_name);
  const statsStarted = embedded ? null : finiteTime(r.last_run_started_at);
  const useLedger = !!l && (!statsStarted || (!!l.last_started && l.last_started > statsStarted));
  const lastStatus = useLedger ? l.last_status : normaliseStatus(r.last_run_status);
  return {
    id: r.job_id,
    name: jobName(kind, r.target),
    kind,
    target: r.target,
    schedule: intervalText(r.schedule_seconds),
    scheduleSeconds: r.schedule_seconds,
    after: r.after_seconds === null ? r.after : intervalText(r.after_seconds),
    lastRunStarted: useLedger ? l.last_started : statsStarted,
    lastSuccess: latestOf(l?.last_success ?? null, embedded ? null : finiteTime(r.last_successful_finish)),
    lastStatus,
    totalRuns: (l?.runs ?? 0) + (embedded ? 0 : (r.total_runs ?? 0)),
    totalFailures: (l?.failures ?? 0) + (embedded ? 0 : (r.total_failures ?? 0)),
    lastError: useLedger ? l.last_error : (r.last_error ?? l?.last_error ?? null),
    // No scheduler (the embedded build, or a server whose workers ran out) keeps no next_start: iotctl's own
    // schedule from its ledger is the one that counts then.
    nextStart:
      (embedded ? null : finiteTime(r.next_start)) ??
      nextStartFrom(l?.last_started ?? null, r.schedule_seconds),
    failing: lastStatus === 'failed',
  };
}

export class TimescaleEngine implements StorageEngine {
  readonly name = 'timescaledb' as const;
  readonly compresses = true;
  readonly defaultChunkInterval: Duration = parseDuration('1d');
  readonly label: string;
  readonly timescaleVersion: string | null;

  constructor(
    readonly version: TsdbVersion,
    private readonly caps: Capabilities,
  ) {
    this.label = `TimescaleDB ${caps.timescale.version}`;
    this.timescaleVersion = caps.timescale.version;
  }

  async prepare(
    db: Db,
    ctx: { dryRun: boolean; sql: string[]; onNotice: (message: string) => void },
  ): Promise<InitObject[]> {
    const objects: InitObject[] = [];
    if (this.caps.timescale.state === 'available') {
      if (ctx.dryRun) {
        objects.push({ object: 'extension timescaledb', status: 'would create' });
        ctx.sql.push(createExtension.text);
      } else {
        try {
          await db.exec(createExtension.text);
        } catch (err) {
          if (err instanceof IotctlError && err.code === 'PERMISSION') {
            throw new IotctlError(
              'PERMISSION',
              `cannot create the timescaledb extension on ${db.target.display}`,
              {
                hint: 'it needs a superuser or the CREATE privilege on the database; run `CREATE EXTENSION timescaledb` as one, or use --plain',
              },
            );
          }
          throw err;
        }
        objects.push({ object: 'extension timescaledb', status: 'created' });
      }
    }
    if (this.caps.timescale.license === 'apache') {
      ctx.onNotice(
        'this TimescaleDB has the Apache licence: compression, retention and refresh policies need the community licence',
      );
    }
    return objects;
  }

  schemaSteps(opts: InitOptions): SchemaStep[] {
    return [
      ...baseSteps(),
      ...hypertableSteps(this.version, opts.chunkInterval),
      ...commonSteps(),
      compressionStep(this.version),
      ...eventHypertableSteps(this.version, opts.chunkInterval),
      ...eventSteps(),
      eventCompressionStep(this.version),
      ...continuousAggregateSteps(this.version, opts.rollups, opts.compressAfter, opts.counters ?? true),
    ];
  }

  counterUpgradeSteps(rollups: Duration[]): SchemaStep[] {
    return caggCounterUpgradeSteps(rollups);
  }

  chunkIntervalChange(_from: Duration, to: Duration): Sql {
    return setChunkInterval(POINTS, to.interval);
  }

  async afterInit(): Promise<InitObject[]> {
    return [];
  }

  bucketExpr(interval: string, column: string): string {
    return timeBucket(interval, column);
  }

  latestReadings(filter: SeriesFilter, stale?: string): Sql {
    return latestReadings(filter, stale);
  }

  async seriesGroups(_db: Db, _filter: SeriesFilter): Promise<SeriesGroups | null> {
    return null;
  }

  lateDataRollup(): string | null {
    // The staleness trigger (plain) or TimescaleDB's invalidation log tracks late rows.
    return null;
  }

  retentionCutoffs(): Sql {
    return tsdbRetentionCutoffs;
  }

  async listChunks(db: Db, relation: string, olderThan?: Date): Promise<ChunkRow[]> {
    return (
      await db.query<ChunkRow>(tsdbChunks(qualified(relation), olderThan, await db.relationFileSizes()))
    ).rows;
  }

  async chunkTotals(db: Db, relation: string): Promise<ChunkTotals> {
    const row = (
      await db.query<{ chunks: number; compressed: number; rows_estimate: number; bytes: number }>(
        tsdbChunkTotals(qualified(relation), await db.relationFileSizes()),
      )
    ).rows[0];
    return {
      chunks: Number(row?.chunks ?? 0),
      compressed: Number(row?.compressed ?? 0),
      rowsEstimate: Number(row?.rows_estimate ?? 0),
      bytes: Number(row?.bytes ?? 0),
    };
  }

  compressChunk(chunk: string): Sql {
    return compressChunk(this.version, chunk);
  }

  decompressChunk(chunk: string): Sql {
    return decompressChunk(this.version, chunk);
  }

  async retentionLimit(_db: Db, _store: Store, _target: { name: string }, cutoff: Date) {
    // Continuous aggregates keep their rows when raw chunks go (refresh windows stop short of retention).
    return { cutoff, heldBack: null };
  }

  listExpired(db: Db, target: { name: string }, cutoff: Date): Promise<ChunkRow[]> {
    return this.listChunks(db, target.name, cutoff);
  }

  /** drop_chunks in batches of whole chunks, oldest first, each batch its own transaction. */
  async dropExpired(db: Db, target: { name: string }, cutoff: Date, chunks: ChunkRow[]): Promise<string[]> {
    const relation = qualified(target.name);
    return dropInBatches(chunks, async (batch) => {
      const bound = batch.olderThan < cutoff ? batch.olderThan : cutoff;
      const res = await db.query<{ chunk: string }>(dropChunksOlderThan(relation, bound));
      return res.rows.map((r) => r.chunk);
    });
  }

  async findPolicy(db: Db, store: Store, kind: PolicyKind, target: string): Promise<JobInfo | undefined> {
    const name = jobName(kind, target);
    return (await this.listJobs(db, store)).find((j) => j.name === name);
  }

  /** The start_offset each rollup's refresh policy needs, from the retention policies in force (or `override`). */
  async refreshStartOffsets(
    db: Db,
    store: Store,
    override?: { target: string; ms: number | null },
  ): Promise<Map<string, Duration | null>> {
    const ages = new Map(
      (await db.query<{ target: string; ms: number }>(tsdbRetentionAges())).rows.map((r) => [r.target, r.ms]),
    );
    if (override?.ms === null) ages.delete(override.target);
    else if (override) ages.set(override.target, override.ms);
    return new Map(
      store.rollups.map((r) => {
        const source = rollupSource(store, r);
        return [r.name, refreshStartOffset(r, source, ages.get(source) ?? null)];
      }),
    );
  }

  async syncRefreshPolicies(db: Db, store: Store, onNotice?: (message: string) => void): Promise<string[]> {
    const wanted = await this.refreshStartOffsets(db, store);
    const current = (
      await db.query<{ rollup: string; schedule: string; start_ms: number | null }>(tsdbRefreshPolicies())
    ).rows;
    const changed: string[] = [];
    for (const p of current) {
      const rollup = store.rollups.find((r) => r.name === p.rollup);
      if (!rollup) continue;
      const want = wanted.get(rollup.name) ?? null;
      if ((want?.ms ?? null) === (p.start_ms === null ? null : Math.round(p.start_ms))) continue;
      const relation = qualified(rollup.name);
      await db.transaction(async (tx) => {
        await tx.query(removeRefreshPolicy(relation));
        await tx.query(
          addRefreshPolicy(
            relation,
            rollup.bucket.interval,
            p.schedule,
            this.version,
            want?.interval ?? null,
          ),
        );
      });
      onNotice?.(
        `refresh policy on ${rollup.name}: ${want ? `start_offset ${want.text} (its source keeps less history)` : 'open start'}`,
      );
      changed.push(rollup.name);
    }
    return changed;
  }

  private async addStatement(
    db: Db,
    store: Store,
    kind: PolicyKind,
    target: string,
    value: Duration,
  ): Promise<Sql> {
    if (kind !== 'refresh') return this.policyStatement(kind, target, value);
    const rollup = store.rollups.find((r) => r.name === target) as Rollup;
    const start = (await this.refreshStartOffsets(db, store)).get(target) ?? null;
    return addRefreshPolicy(
      qualified(target),
      rollup.bucket.interval,
      value.interval,
      this.version,
      start?.interval ?? null,
    );
  }

  private removeStatement(kind: PolicyKind, target: string): Sql {
    const relation = qualified(target);
    if (kind === 'compression') return removeCompressionPolicy(this.version, relation);
    if (kind === 'retention') return removeRetentionPolicy(relation);
    return removeRefreshPolicy(relation);
  }

  policyStatement(kind: 'compression' | 'retention', target: string, value: Duration): Sql {
    const relation = qualified(target);
    return kind === 'compression'
      ? addCompressionPolicy(this.version, relation, value.interval)
      : addRetentionPolicy(relation, value.interval);
  }

  async setPolicy(
    db: Db,
    store: Store,
    kind: PolicyKind,
    target: string,
    value: Duration,
  ): Promise<PolicyChange> {
    const existing = await this.findPolicy(db, store, kind, target);
    const current = policyValue(kind, existing);
    const change = { job: jobName(kind, target), kind, target, value: value.text };
    const retention = kind === 'retention';
    // Before anything changes: a retention too short for the rollup refreshed from the target is refused.
    if (retention) await this.refreshStartOffsets(db, store, { target, ms: value.ms });
    if (existing && (await sameInterval(db, current, value.interval))) {
      // A store that got its events table after the policy was set: the events get theirs now.
      if ((await this.eventsFollow(db, kind, target)) && !(await this.findPolicy(db, store, kind, 'events')))
        await db.query(this.policyStatement(kind as 'compression' | 'retention', 'events', value));
      if (retention) await this.syncRefreshPolicies(db, store);
      return { ...change, status: 'unchanged' };
    }
    const add = await this.addStatement(db, store, kind, target, value);
    const events = await this.eventsFollow(db, kind, target);
    // One transaction: a failing add leaves the old policy in place.
    await db.transaction(async (tx) => {
      if (existing) await tx.query(this.removeStatement(kind, target));
      await tx.query(add);
      if (events) {
        await tx.query(this.removeStatement(kind, 'events'));
        await tx.query(this.policyStatement(kind as 'compression' | 'retention', 'events', value));
      }
    });
    if (retention) await this.syncRefreshPolicies(db, store);
    return { ...change, status: existing ? 'updated' : 'created' };
  }

  /**
   * The events follow the readings' compression and retention: a policy set on points is set on events too
   * (their own TimescaleDB job, which the scheduler runs), where the store has the events table.
   */
  private async eventsFollow(db: Db, kind: PolicyKind, target: string): Promise<boolean> {
    return kind !== 'refresh' && target === 'points' && (await hasEventsTable(db));
  }

  async removePolicy(db: Db, store: Store, kind: PolicyKind, target: string): Promise<PolicyChange> {
    const existing = await this.findPolicy(db, store, kind, target);
    if (await this.eventsFollow(db, kind, target)) await db.query(this.removeStatement(kind, 'events'));
    if (existing) {
      await db.query(this.removeStatement(kind, target));
      if (kind === 'retention') await this.syncRefreshPolicies(db, store);
    }
    return removalOf(kind, target, existing);
  }

  async listJobs(db: Db, store: Store): Promise<JobInfo[]> {
    const ledger = await readLedger(db);
    const embedded = db.target.kind === 'embedded';
    const rows = (await db.query<TsdbJobRow>(tsdbJobs)).rows;
    const jobs = rows.map((r) =>
      tsdbJobInfo(r, ledger.get(jobName(kindOf(r.proc_name), r.target)), embedded),
    );
    // Refresh jobs run finest rollup first whatever their job ids (re-adding a policy gives it a new, higher id).
    return jobs.sort(byRunOrder(store));
  }

  async runJob(db: Db, store: Store, job: JobInfo): Promise<unknown> {
    if (job.id === null) throw new Error(`job ${job.name} has no TimescaleDB job id`);
    if (job.kind === 'retention' && job.after && job.target === 'events') {
      // The events' retention follows the readings' (run with them by applyRetention): batches here too.
      const cutoff = await dbCutoff(db, job.after);
      const chunks = await this.listExpired(db, { name: 'events' }, cutoff);
      return { cutoff, dropped: await this.dropExpired(db, { name: 'events' }, cutoff, chunks) };
    }
    if (job.kind === 'retention' && job.after) {
      // The retention policy's own procedure drops every expired chunk in one transaction (53200 out of
      // shared memory past a few thousand compressed chunks): iotctl runs it in bounded batches instead.
      const target = retentionTarget(store, job.target === 'points' ? undefined : job.target);
      const run = await applyRetention(db, store, target, await dbCutoff(db, job.after));
      return { cutoff: run.cutoff, dropped: run.dropped };
    }
    if (job.kind === 'refresh') {
      const rollup = store.rollups.find((r) => r.name === job.target);
      if (rollup) {
        const nowMs = await this.dbNowMs(db);
        const offset = (await this.refreshStartOffsets(db, store)).get(rollup.name) ?? null;
        await this.refreshPieces(db, store, rollup, offset ? nowMs - offset.ms : -Infinity, nowMs);
      }
    }
    // Its own statement, no transaction around it: the policy procedures commit as they go.
    await db.query(runJob(job.id));
    return null;
  }

  private async dbNowMs(db: Db): Promise<number> {
    return new Date((await db.query<{ now: Date }>(dbNow)).rows[0]!.now).getTime();
  }

  /**
   * The history a refresh from `fromMs` has to materialise, refreshed in pieces (src/engine/windows.ts),
   * oldest first, each its own statement and transaction: the embedded Db checkpoints between them once
   * 32 MB of WAL is written, and no piece holds more than a month of readings. The pieces stop a window
   * short of now; the caller's own refresh, unchanged, does the rest.
   */
  private async refreshPieces(
    db: Db,
    store: Store,
    rollup: Rollup,
    fromMs: number,
    nowMs: number,
    onProgress?: (p: RefreshProgress) => void,
    total?: (pieces: number) => number,
  ): Promise<RefreshWindow[]> {
    const source = rollupSource(store, rollup);
    const num = (v: unknown) => Number(v);
    const chunks = (await db.query<{ lo: number; hi: number }>(chunkTimeRanges(qualified(source)))).rows;
    const wm = (await db.query<{ ms: number }>(caggWatermark(rollup.name))).rows[0]?.ms;
    const pending = (await db.query<{ source: string; lo: number; hi: number }>(pendingInvalidations)).rows
      .filter((r) => r.source === source)
      .map((r): MsRange => [num(r.lo), num(r.hi) + 1]);
    const bucket = rollup.bucket.ms;
    const windows = refreshWindows({
      bucketMs: bucket,
      windowMs: refreshWindowOf(db),
      fromMs,
      // The refresh policy's end_offset is one bucket: no piece reaches past it.
      untilMs: floorToBucket(nowMs, bucket) - bucket,
      source: chunks.map((c): MsRange => [num(c.lo), num(c.hi)]),
      work: [[wm === undefined || wm === null ? -Infinity : num(wm), Infinity], ...pending],
    });
    const n = total ? total(windows.length) : windows.length;
    for (const [index, w] of windows.entries()) {
      onProgress?.({ rollup: rollup.name, index, total: n, from: w.from, until: w.until });
      await db.query(refreshContinuousAggregate(qualified(rollup.name), w.from, w.until, this.version));
    }
    return windows;
  }

  /**
   * On a server the policies run in TimescaleDB's scheduler, one background worker per database; when the
   * workers are exhausted (timescaledb.max_background_workers) or disabled, none runs for this database and
   * the policies silently stop. The embedded build has no workers: maintain runs the jobs there.
   */
  async health(db: Db): Promise<string[]> {
    if (db.target.kind !== 'server') return [];
    let row: SchedulerRow | undefined;
    // The launcher starts a database's scheduler a moment after CREATE EXTENSION: look twice more before
    // calling it missing.
    for (let attempt = 0; attempt < 3; attempt++) {
      if (attempt) await new Promise((r) => setTimeout(r, 1000));
      row = (await db.query<SchedulerRow>(schedulerState)).rows[0];
      if (!row || row.schedulers > 0) return [];
    }
    if (!row) return [];
    return [
      `no TimescaleDB scheduler runs for database ${row.database}: policies will not run by themselves ` +
        `(timescaledb.max_background_workers = ${row.max_workers ?? '?'} for ${row.databases} databases on ` +
        `the server${row.job_execution === 'off' ? '; timescaledb.enable_job_execution = off' : ''}); ` +
        'run `iotctl maintain` from cron, or raise timescaledb.max_background_workers and restart',
    ];
  }

  async maintainExtras(): Promise<number> {
    return 0;
  }

  /**
   * An open start refreshes only what was invalidated, which covers backfills at any age, but when the source
   * has a retention policy the start is clamped like the refresh policy's start_offset: a refresh over dropped
   * chunks would delete the rollup's history for them.
   */
  async rollupStorage(db: Db, rollup: string): Promise<string> {
    const { rows } = await db.query<{ rel: string }>(materializationTable(rollup));
    if (!rows[0]) throw new Error(`no continuous aggregate ${rollup}`);
    return rows[0].rel;
  }

  async refreshRollup(db: Db, store: Store, rollup: Rollup, opts: RefreshOptions): Promise<RollupRefresh> {
    const now = await this.dbNowMs(db);
    const offset = (await this.refreshStartOffsets(db, store)).get(rollup.name) ?? null;
    const floorMs = offset ? now - offset.ms : -Infinity;
    const askedMs = opts.since && !opts.all ? now - opts.since.ms : -Infinity;
    const startMs = Math.max(floorMs, askedMs);
    const from = Number.isFinite(startMs) ? new Date(startMs) : null;
    const pieces = await this.refreshPieces(db, store, rollup, startMs, now, opts.onProgress, (n) => n + 1);
    opts.onProgress?.({
      rollup: rollup.name,
      index: pieces.length,
      total: pieces.length + 1,
      from: pieces.at(-1)?.until ?? from,
      until: null,
    });
    // Not wrapped in a transaction: refresh_continuous_aggregate refuses to run inside one.
    await db.query(refreshContinuousAggregate(qualified(rollup.name), from, null, this.version));
    return { rollup: rollup.name, from, until: null, buckets: null };
  }

  async rollupSizes(db: Db, rollups: string[]): Promise<Array<{ name: string; bytes: number }>> {
    const files = await db.relationFileSizes();
    return (await db.query<{ name: string; bytes: number }>(tsdbRollupSizes(rollups, files))).rows;
  }

  /** Real-time continuous aggregates: complete at any time except for rows changed below the watermark. */
  async rollupCompleteness(
    db: Db,
    base: RollupBase[],
    retention: Map<string, { cutoff: number; after: string }>,
  ): Promise<RollupCompleteness[]> {
    let rows: Array<{ source: string; lo: number; hi: number }>;
    try {
      rows = (await db.query<{ source: string; lo: number; hi: number }>(pendingInvalidations)).rows;
    } catch (err) {
      throw new Error(`cannot read the TimescaleDB invalidation logs (${(err as Error).message})`, {
        cause: err,
      });
    }
    // Below its source's retention cutoff an invalidation is the drop itself (drop_chunks logs one per
    // chunk): the source is gone there and the rollup is the only record, so it is not pending.
    const pending = rows
      .filter((r) => Number(r.hi) >= (retention.get(r.source)?.cutoff ?? -Infinity))
      .map((r): [number, number] => [Number(r.lo), Number(r.hi)]);
    // Conservative: a pending range anywhere in the hierarchy disqualifies every rollup over that range.
    return base.map(() => ({ completeUntil: Infinity, pending }));
  }

  async chunksOverlapping(db: Db, ranges: Array<[number, number]>): Promise<string[]> {
    return (await db.query<{ chunk: string }>(tsdbChunksOverlapping(ranges))).rows.map((r) => r.chunk);
  }

  rowPlacer(): null {
    return null;
  }

  /**
   * A server only: a bulk range holds a connection of its own for its whole transaction, and the embedded
   * database has one.
   */
  async bulkChunkInterval(db: Db): Promise<number | null> {
    if (db.target.kind !== 'server' || !hasAttachChunk(this.version)) return null;
    const available = (await db.query<{ available: boolean }>(attachChunkAvailable)).rows[0]?.available;
    if (!available) return null;
    const row = (await db.query<{ interval_us: string }>(pointsChunkInterval)).rows[0];
    const us = row ? Number(row.interval_us) : 0;
    return us > 0 ? us : null;
  }
}
