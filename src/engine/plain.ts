// The plain PostgreSQL engine: points range-partitioned by time with partitions iotctl creates ahead of the
// data, rollups as tables iotctl refreshes (watermark and dirty marks in iotctl.meta, kept by a statement
// trigger on points), and policies as rows of iotctl.policies that `maintain` carries out.
import { byRunOrder, intervalText, jobName, nextStartFrom, readLedger, type JobInfo } from '../db/jobs.js';
import { PartitionManager } from '../db/partitions.js';
import { partitionsOverlapping } from '../db/sql/analyse.js';
import { qualified } from '../db/sql/ident.js';
import {
  clearDirtyIfUnchanged,
  deletePlainPolicy,
  dirtyStamp,
  deletePlainRollupExpired,
  dropPartition,
  lockRollupsExclusive,
  markDirty,
  plainPolicyExists,
  plainRollupExpired,
  plainRollupSizes,
  plainSourceStart,
  readCompleteUntil,
  readRollupState,
  refreshPlainRollup,
  upsertPlainPolicy,
  writeWatermark,
  type ChunkRow,
} from '../db/sql/maintenance.js';
import { PARTITIONS_AHEAD, partitionsSql } from '../db/sql/partitions.js';
import {
  dateBin,
  partitionedEventsStep,
  partitionedPointsStep,
  plainPolicies,
  plainRetentionCutoffs,
  rollupCounterUpgradeSteps,
  rollupTableSteps,
  stalenessSteps,
} from '../db/sql/plain.js';
import { latestReadings, plainRollupMarks, type SeriesFilter } from '../db/sql/query.js';
import {
  COUNTER_SCHEMA_VERSION,
  baseSteps,
  commonSteps,
  eventSteps,
  refreshSchedule,
  type InitOptions,
  type SchemaStep,
} from '../db/sql/schema.js';
import type { Db, Sql } from '../db/types.js';
import { usageError } from '../errors.js';
import { sameInterval } from './common.js';
import {
  applyRetention,
  compressionUnsupported,
  dbCutoff,
  dropInBatches,
  policyValue,
  removalOf,
  retentionTarget,
  totalsOf,
} from './common.js';
import { ceilToBucket, floorToBucket } from '../util/buckets.js';
import { refreshWindowOf, refreshWindows } from './windows.js';
import { parseDuration, type Duration } from '../util/duration.js';
import type {
  ChunkTotals,
  HeldBack,
  InitObject,
  PolicyChange,
  PolicyKind,
  RefreshOptions,
  RetentionTarget,
  Rollup,
  RollupBase,
  RollupCompleteness,
  RollupRefresh,
  EngineName,
  StorageEngine,
  Store,
  SeriesGroups,
  StoreConfig,
} from './types.js';

const noCompression = () => compressionUnsupported('compression', 'plain PostgreSQL mode');

export class PlainEngine implements StorageEngine {
  readonly name: EngineName = 'plain';
  readonly label: string = 'plain PostgreSQL mode';
  readonly timescaleVersion = null;
  readonly compresses: boolean = false;
  readonly defaultChunkInterval: Duration = parseDuration('1d');

  async prepare(_db: Db, _opts: { dryRun: boolean; sql: string[] }): Promise<InitObject[]> {
    return [];
  }

  schemaSteps(opts: InitOptions): SchemaStep[] {
    return [
      ...baseSteps(),
      partitionedPointsStep(opts.chunkInterval),
      ...commonSteps(),
      partitionedEventsStep(opts.chunkInterval),
      ...eventSteps(),
      ...rollupTableSteps(opts.rollups, opts.counters ?? true),
      ...stalenessSteps(opts.rollups),
    ];
  }

  counterUpgradeSteps(rollups: Duration[]): SchemaStep[] {
    return rollupCounterUpgradeSteps(rollups);
  }

  chunkIntervalChange(from: Duration): Sql {
    throw usageError(`this store uses ${from.text} partitions; ${this.label} cannot change the interval`);
  }

  async afterInit(db: Db, config: StoreConfig, dryRun: boolean): Promise<InitObject[]> {
    if (dryRun) return [];
    const created = await new PartitionManager(db, config.chunkInterval.ms).ensureAhead(
      Date.now(),
      PARTITIONS_AHEAD,
    );
    if (created === 0) return [];
    return [
      {
        object: `partitions of iotctl.points (now + ${PARTITIONS_AHEAD} ahead)`,
        status: 'created',
        note: `${created} new`,
      },
    ];
  }

  bucketExpr(interval: string, column: string): string {
    return dateBin(interval, column);
  }

  latestReadings(filter: SeriesFilter, stale?: string): Sql {
    return latestReadings(filter, stale);
  }

  async seriesGroups(_db: Db, _filter: SeriesFilter): Promise<SeriesGroups | null> {
    return null;
  }

  async bulkChunkInterval(_db: Db): Promise<null> {
    return null;
  }

  lateDataRollup(_config: StoreConfig): string | null {
    // The staleness trigger (plain) or TimescaleDB's invalidation log tracks late rows.
    return null;
  }

  retentionCutoffs(): Sql {
    return plainRetentionCutoffs;
  }

  async listChunks(db: Db, relation: string, olderThan?: Date): Promise<ChunkRow[]> {
    return (await db.query<ChunkRow>(partitionsSql(olderThan, relation === 'events' ? 'events' : 'points')))
      .rows;
  }

  async chunkTotals(db: Db, relation: string): Promise<ChunkTotals> {
    return totalsOf(await this.listChunks(db, relation));
  }

  compressChunk(_chunk: string): Sql {
    throw noCompression();
  }

  decompressChunk(_chunk: string): Sql {
    throw noCompression();
  }

  /** The rollup built on the target, which must have taken rows in before they may go. */
  private dependentRollup(store: Store, target: RetentionTarget): Rollup | undefined {
    if (!target.rollup) return store.rollups[0];
    return store.rollups[store.rollups.findIndex((r) => r.name === target.name) + 1];
  }

  /** No later than where the rollup built on the target is complete (its watermark, or its dirty mark). */
  async retentionLimit(
    db: Db,
    store: Store,
    target: RetentionTarget,
    cutoff: Date,
  ): Promise<{ cutoff: Date | null; heldBack: HeldBack | null }> {
    const rollup = this.dependentRollup(store, target);
    if (!rollup) return { cutoff, heldBack: null };
    const { rows } = await db.query<{ until: Date | null }>(readCompleteUntil(rollup.name));
    const until = rows[0]?.until ? new Date(rows[0].until) : null;
    if (until !== null && until >= cutoff) return { cutoff, heldBack: null };
    return { cutoff: until, heldBack: { rollup: rollup.name, until } };
  }

  async listExpired(db: Db, target: RetentionTarget, cutoff: Date): Promise<ChunkRow[]> {
    if (target.rollup)
      return (await db.query<ChunkRow>(plainRollupExpired(target.name, target.rollup.bucket, cutoff))).rows;
    return this.listChunks(db, target.name, cutoff);
  }

  async dropExpired(db: Db, target: RetentionTarget, cutoff: Date, chunks: ChunkRow[]): Promise<string[]> {
    if (target.rollup) {
      if (!chunks.length) return [];
      await db.query(deletePlainRollupExpired(target.name, target.rollup.bucket, cutoff));
      return [qualified(target.name)];
    }
    // One partition per statement (its own transaction): the locks one DROP takes are released before the next.
    return dropInBatches(
      chunks,
      async (batch) => {
        for (const c of batch.chunks) await db.query(dropPartition(c.chunk));
        return batch.chunks.map((c) => c.chunk);
      },
      1,
    );
  }

  async findPolicy(db: Db, store: Store, kind: PolicyKind, target: string): Promise<JobInfo | undefined> {
    // Refresh jobs exist for every rollup: only an explicit row in iotctl.policies is a policy.
    if (kind === 'refresh' && !(await db.query(plainPolicyExists('refresh', target))).rows.length) {
      return undefined;
    }
    const name = jobName(kind, target);
    return (await this.listJobs(db, store)).find((j) => j.name === name);
  }

  policyStatement(kind: 'compression' | 'retention', target: string, value: Duration): Sql {
    if (kind === 'compression' && !this.compresses) throw noCompression();
    return upsertPlainPolicy(kind, target, value.interval, '1 day');
  }

  async setPolicy(
    db: Db,
    store: Store,
    kind: PolicyKind,
    target: string,
    value: Duration,
  ): Promise<PolicyChange> {
    if (kind === 'compression' && !this.compresses) throw noCompression();
    const existing = await this.findPolicy(db, store, kind, target);
    const current = policyValue(kind, existing);
    const change = { job: jobName(kind, target), kind, target, value: value.text };
    if (existing && (await sameInterval(db, current, value.interval)))
      return { ...change, status: 'unchanged' };
    const rollup = store.rollups.find((r) => r.name === target);
    // Refresh rows keep the bucket as `after` (the column is NOT NULL); the schedule is what counts.
    const [after, schedule] =
      kind === 'refresh'
        ? [rollup?.bucket.interval ?? value.interval, value.interval]
        : [value.interval, '1 day'];
    await db.query(upsertPlainPolicy(kind, target, after, schedule));
    return { ...change, status: existing ? 'updated' : 'created' };
  }

  async removePolicy(db: Db, store: Store, kind: PolicyKind, target: string): Promise<PolicyChange> {
    if (kind === 'compression' && !this.compresses) throw noCompression();
    const existing = await this.findPolicy(db, store, kind, target);
    if (existing) await db.query(deletePlainPolicy(kind, target));
    return removalOf(kind, target, existing);
  }

  async syncRefreshPolicies(): Promise<string[]> {
    // Plain refreshes read their window from the watermarks; there is no start_offset to keep in line.
    return [];
  }

  async listJobs(db: Db, store: Store): Promise<JobInfo[]> {
    const ledger = await readLedger(db);
    const { rows } = await db.query<{
      kind: string;
      target: string;
      after_seconds: number | null;
      seconds: number;
    }>(plainPolicies);
    // Every rollup is refreshed; a 'refresh' row in iotctl.policies only changes its schedule.
    const refreshDefaults = store.rollups
      .filter((r) => !rows.some((p) => p.kind === 'refresh' && p.target === r.name))
      .map((r) => {
        const schedule = refreshSchedule(r.bucket);
        return {
          kind: 'refresh',
          target: r.name,
          after_seconds: null,
          seconds: schedule.ms / 1000,
        };
      });
    return [...rows, ...refreshDefaults].sort(byRunOrder(store)).map((p) => {
      const name = jobName(p.kind as JobInfo['kind'], p.target);
      const l = ledger.get(name);
      return {
        id: null,
        name,
        kind: p.kind as JobInfo['kind'],
        target: p.target,
        schedule: intervalText(p.seconds),
        scheduleSeconds: p.seconds,
        after: intervalText(p.after_seconds),
        lastRunStarted: l?.last_started ?? null,
        lastSuccess: l?.last_success ?? null,
        lastStatus: l?.last_status ?? null,
        totalRuns: l?.runs ?? 0,
        totalFailures: l?.failures ?? 0,
        lastError: l?.last_error ?? null,
        nextStart: nextStartFrom(l?.last_started ?? null, p.seconds),
        failing: l?.last_status === 'failed',
      };
    });
  }

  async runJob(db: Db, store: Store, job: JobInfo): Promise<unknown> {
    if (job.kind === 'refresh') {
      const rollup = store.rollups.find((r) => r.name === job.target);
      if (!rollup) throw new Error(`rollup ${job.target} is not in this store's configuration`);
      return this.refreshRollup(db, store, rollup, {});
    }
    if (job.kind === 'retention') {
      const target = retentionTarget(store, job.target === 'points' ? undefined : job.target);
      const run = await applyRetention(db, store, target, await dbCutoff(db, job.after as string));
      return { cutoff: run.cutoff, dropped: run.dropped, heldBack: run.heldBack };
    }
    throw new Error(`iotctl cannot run a ${job.kind} job in plain PostgreSQL mode`);
  }

  async health(_db: Db): Promise<string[]> {
    // Plain policies run only when maintain runs: there is no scheduler to miss.
    return [];
  }

  maintainExtras(db: Db, store: Store, nowMs: number): Promise<number> {
    return new PartitionManager(db, store.chunkInterval.ms).ensureAhead(nowMs, PARTITIONS_AHEAD);
  }

  /**
   * Recomputes [from, until) from the source and upserts it, in one transaction holding the rollup lock
   * (exclusive; the staleness trigger takes it shared), by the database's clock. The window starts one bucket
   * below the watermark (late rows for the last bucket), lower for --since or a dirty mark, never below where
   * the source is complete (retention may have removed part of a bucket), and ends at the last complete bucket
   * (for a coarser rollup: no later than its source's watermark).
   */
  async rollupStorage(_db: Db, rollup: string): Promise<string> {
    return qualified(rollup);
  }

  /**
   * Recomputes the rollup from its watermark (or dirty mark, or --since) up to now. A long range (the first
   * refresh after a history load) is recomputed in pieces of about a month, oldest first, each its own
   * transaction under the rollup lock, the watermark advancing with them: one statement over years of
   * readings held them all at once (on the embedded database, in its memory and its WAL).
   */
  async refreshRollup(db: Db, store: Store, rollup: Rollup, opts: RefreshOptions): Promise<RollupRefresh> {
    const index = store.rollups.findIndex((r) => r.name === rollup.name);
    const source = index > 0 ? (store.rollups[index - 1] as Rollup).name : null;
    const coarser = store.rollups[index + 1]?.name;
    const bucket = rollup.bucket.ms;
    const plan = await db.transaction(async (tx) => {
      const { rows: lock } = await tx.query<{ now: Date }>(lockRollupsExclusive());
      const now = new Date((lock[0] as { now: Date }).now).getTime();
      const { rows } = await tx.query<{
        until: Date | null;
        dirty_from: Date | null;
        source_until: Date | null;
      }>(readRollupState(rollup.name, source));
      const state = rows[0] as { until: Date | null; dirty_from: Date | null; source_until: Date | null };
      const watermark = state.until ? new Date(state.until).getTime() : null;
      let untilMs = floorToBucket(now, bucket);
      // A coarser rollup is complete only as far as the rollup it is built from.
      if (source !== null) {
        untilMs = state.source_until
          ? Math.min(untilMs, floorToBucket(new Date(state.source_until).getTime(), bucket))
          : -Infinity;
      }
      let fromMs: number | null = null;
      if (!opts.all && watermark !== null) {
        fromMs = watermark - bucket;
        if (opts.since) fromMs = Math.min(fromMs, floorToBucket(now - opts.since.ms, bucket));
        if (state.dirty_from)
          fromMs = Math.min(fromMs, floorToBucket(new Date(state.dirty_from).getTime(), bucket));
      }
      const { rows: start } = await tx.query<{ start: Date | null }>(plainSourceStart(source));
      const sourceStart = start[0]?.start ? new Date(start[0].start).getTime() : null;
      // Never recompute a bucket whose source rows are partly gone: start where the source is complete.
      const completeFrom = sourceStart === null ? null : ceilToBucket(sourceStart, bucket);
      const startMs = completeFrom === null ? fromMs : Math.max(fromMs ?? completeFrom, completeFrom);
      const { rows: dirty } = await tx.query<{ stamp: string | null }>(dirtyStamp(rollup.name));
      return { watermark, untilMs, fromMs, startMs, stamp: dirty[0]?.stamp ?? null };
    });
    const { watermark, untilMs, fromMs, startMs, stamp } = plan;
    if (!Number.isFinite(untilMs)) return { rollup: rollup.name, from: null, until: null, buckets: 0 };
    const pieces =
      startMs === null
        ? []
        : refreshWindows({
            bucketMs: bucket,
            windowMs: refreshWindowOf(db),
            fromMs: startMs,
            untilMs,
            source: [[startMs, untilMs]],
            work: [[-Infinity, Infinity]],
          }).map((w): [number | null, number] => [w.from.getTime(), w.until.getTime()]);
    const ranges: Array<[number | null, number]> = [...pieces, [pieces.at(-1)?.[1] ?? startMs, untilMs]];
    let buckets = 0;
    for (const [i, [a, b]] of ranges.entries()) {
      const last = i === ranges.length - 1;
      opts.onProgress?.({
        rollup: rollup.name,
        index: i,
        total: ranges.length,
        from: a === null ? null : new Date(a),
        until: new Date(b),
      });
      buckets += await db.transaction(async (tx) => {
        await tx.query(lockRollupsExclusive());
        const res = await tx.query(
          refreshPlainRollup(
            rollup.name,
            rollup.bucket,
            source,
            { from: a === null ? null : new Date(a), until: new Date(b) },
            store.schemaVersion >= COUNTER_SCHEMA_VERSION,
          ),
        );
        if (watermark === null || b > watermark) await tx.query(writeWatermark(rollup.name, new Date(b)));
        // Buckets recomputed below the old watermark change under the next coarser rollup: it recomputes
        // them too (marked with the first piece, before any of them changes).
        if (i === 0 && coarser && watermark !== null && startMs !== null && startMs < watermark)
          await tx.query(markDirty(coarser, new Date(startMs)));
        // The dirty mark read at the start is done with; one set since (late readings meanwhile) stays.
        if (last && stamp !== null) await tx.query(clearDirtyIfUnchanged(rollup.name, stamp));
        return res.rowCount;
      });
    }
    return {
      rollup: rollup.name,
      from: fromMs === null ? null : new Date(startMs as number),
      until: new Date(untilMs),
      buckets,
    };
  }

  async rollupSizes(db: Db, rollups: string[]): Promise<Array<{ name: string; bytes: number }>> {
    return (await db.query<{ name: string; bytes: number }>(plainRollupSizes(rollups))).rows;
  }

  /**
   * Rollup R is exact for buckets that end at or before min(watermark:R, floor(dirty:F.from)) over R and every
   * finer rollup F: a change below a finer rollup's watermark reaches R only through that rollup.
   */
  async rollupCompleteness(db: Db, base: RollupBase[]): Promise<RollupCompleteness[]> {
    const { rows } = await db.query<{ kind: string; rollup: string; at: Date | null }>(plainRollupMarks);
    const mark = (kind: string, rollup: string) => {
      const row = rows.find((r) => r.kind === kind && r.rollup === rollup && r.at !== null);
      return row ? new Date(row.at as Date).getTime() : undefined;
    };
    let dirty: RollupCompleteness['dirty'];
    return base.map((r) => {
      const from = mark('dirty', r.name);
      if (from !== undefined && (!dirty || from < dirty.from)) dirty = { rollup: r.name, from };
      // No watermark row: nothing is known to be complete, so the rollup is not read at all.
      const watermark = mark('watermark', r.name) ?? -Infinity;
      const dirtyUntil = dirty ? floorToBucket(dirty.from, r.bucketMs) : Infinity;
      return {
        completeUntil: Math.min(watermark, dirtyUntil),
        dirty: dirtyUntil < watermark ? dirty : undefined,
        pending: [],
      };
    });
  }

  async chunksOverlapping(db: Db, ranges: Array<[number, number]>): Promise<string[]> {
    return (await db.query<{ chunk: string }>(partitionsOverlapping(ranges))).rows.map((r) => r.chunk);
  }

  rowPlacer(db: Db, config: StoreConfig, table: 'points' | 'events' = 'points'): PartitionManager {
    return new PartitionManager(db, config.chunkInterval.ms, table);
  }
}
