// `iotctl delete`: removes readings of the selected series (in a time range), the rollup buckets they fed
// (removed where the range covers a bucket, recomputed at its edges) and the series left with nothing.
// Refuses, before changing anything, a range whose edge cuts a rollup bucket that retention has left the
// rollup alone to hold: that bucket could not be recomputed.
import {
  countRollupRows,
  deleteEmptySeries,
  deleteSeriesRows,
  emptySeriesOfShard,
  deleteEvents,
  deleteReadings,
  eventsToDelete,
  deleteRollupRows,
  readingsToDelete,
  type Span,
} from '../db/sql/delete.js';
import { orderedSeries, type SeriesFilter } from '../db/sql/query.js';
import { loadStore } from '../db/store.js';
import type { Db, Sql } from '../db/types.js';
import { EVENTS } from '../db/sql/schema.js';
import { hasEventsTable } from '../engine/common.js';
import type { Store } from '../engine/types.js';
import { usageError } from '../errors.js';
import { ceilToBucket, floorToBucket } from '../util/buckets.js';
import { formatDurationMs } from '../util/duration.js';
import { withMaintenanceLock } from './lock.js';

export interface DeleteOptions {
  filter: SeriesFilter;
  since: Date | null;
  until: Date | null;
  dryRun: boolean;
}

export interface DeleteResult {
  dryRun: boolean;
  since: Date | null;
  until: Date | null;
  /** Per series: readings deleted (or that would be), and whether the series is left with none. */
  series: Array<{ device: string; metric: string; readings: number; emptied: boolean }>;
  readings: number;
  /** Events deleted with the readings (of the same series and range). */
  events: number;
  /** Rows removed from each rollup (buckets the range covers completely); edge buckets are recomputed. */
  rollupRows: Record<string, number>;
  /** Series rows removed: no readings and no rollup rows left. Null on a dry run. */
  seriesRemoved: number | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Rollup buckets entirely inside [since, until): their rows go; the ones cut at an edge are recomputed. */
function coveredSpan(span: Span, bucketMs: number): Span {
  return {
    from: span.from ? new Date(ceilToBucket(span.from.getTime(), bucketMs)) : null,
    to: span.to ? new Date(floorToBucket(span.to.getTime(), bucketMs)) : null,
  };
}

/**
 * A bucket cut by an edge of the range is recomputed from the rollup's source (raw readings, or the finer
 * rollup); where retention removed that source there, the recomputed bucket would lose what the range keeps.
 */
async function refuseUnrecomputableEdges(db: Db, store: Store, span: Span): Promise<void> {
  const { rows } = await db.query<{ target: string; cutoff: Date }>(store.engine.retentionCutoffs());
  const cutoffOf = new Map(rows.map((r) => [r.target, new Date(r.cutoff).getTime()]));
  store.rollups.forEach((rollup, i) => {
    const source = i === 0 ? 'points' : (store.rollups[i - 1] as { name: string }).name;
    const cutoff = cutoffOf.get(source);
    if (cutoff === undefined) return;
    for (const [flag, edge] of [
      ['--since', span.from],
      ['--until', span.to],
    ] as const) {
      if (!edge) continue;
      const start = floorToBucket(edge.getTime(), rollup.bucket.ms);
      if (start === edge.getTime() || start >= cutoff) continue;
      const next = start + rollup.bucket.ms;
      throw usageError(
        `${flag} ${edge.toISOString()} cuts the ${rollup.name} bucket ${iso(start)}, whose readings before ${iso(cutoff)} retention has already removed from ${source}: it could not be recomputed`,
        `align ${flag} to a ${formatDurationMs(rollup.bucket.ms)} bucket: ${iso(start)} or ${iso(next)}`,
      );
    }
  });
}

export async function deleteReadingsOf(db: Db, opts: DeleteOptions): Promise<DeleteResult> {
  const store = await loadStore(db);
  const span: Span = { from: opts.since, to: opts.until };
  const selected = (
    await db.query<{ id: number; device: string; metric: string }>(orderedSeries(opts.filter))
  ).rows;
  const ids = selected.map((s) => s.id);
  const result: DeleteResult = {
    dryRun: opts.dryRun,
    since: opts.since,
    until: opts.until,
    series: [],
    readings: 0,
    events: 0,
    rollupRows: Object.fromEntries(store.rollups.map((r) => [r.name, 0])),
    seriesRemoved: opts.dryRun ? null : 0,
  };
  if (!ids.length) return result;
  await refuseUnrecomputableEdges(db, store, span);
  const tables = new Map<string, string>();
  for (const r of store.rollups) tables.set(r.name, await store.engine.rollupStorage(db, r.name));

  // The events of the series go with their readings (a series is emptied when it has neither left).
  const events = await hasEventsTable(db);
  const work = async () => {
    const countsOf = async (sql: Sql) =>
      new Map(
        (await db.query<{ series_id: number; gone: number; total: number }>(sql)).rows.map((r) => [
          r.series_id,
          { gone: Number(r.gone), total: Number(r.total) },
        ]),
      );
    const counts = await countsOf(readingsToDelete(ids, span));
    const eventCounts = events ? await countsOf(eventsToDelete(ids, span)) : new Map();
    for (const s of selected) {
      const c = counts.get(s.id) ?? { gone: 0, total: 0 };
      const e = eventCounts.get(s.id) ?? { gone: 0, total: 0 };
      result.events += e.gone;
      if (c.gone + e.gone === 0 && !(c.total + e.total === 0 && !span.from && !span.to)) continue;
      result.series.push({
        device: s.device,
        metric: s.metric,
        readings: c.gone,
        emptied: c.gone === c.total && e.gone === e.total,
      });
      result.readings += c.gone;
    }
    if (opts.dryRun) {
      for (const r of store.rollups) {
        const sql = countRollupRows(tables.get(r.name) as string, ids, coveredSpan(span, r.bucket.ms));
        result.rollupRows[r.name] = Number((await db.query<{ n: number }>(sql)).rows[0]?.n ?? 0);
      }
      return result;
    }
    await db.transaction(async (tx) => {
      await tx.query(deleteReadings(ids, span));
      if (events) await tx.query(deleteEvents(ids, span));
      for (const r of store.rollups) {
        const sql = deleteRollupRows(tables.get(r.name) as string, ids, coveredSpan(span, r.bucket.ms));
        result.rollupRows[r.name] = (await tx.query(sql)).rowCount;
      }
    });
    // The buckets cut at the edges (and, in plain mode, what the deletion marked dirty) are recomputed,
    // finest first, from a little before the range to now.
    if (store.rollups.length && (span.from || span.to)) {
      const coarsest = store.rollups[store.rollups.length - 1] as { bucket: { ms: number } };
      const startMs = floorToBucket((span.from ?? span.to ?? new Date()).getTime(), coarsest.bucket.ms);
      // One bucket more: a refresh window is rounded in to whole buckets, and the clock moves on meanwhile.
      const since = Date.now() - startMs + coarsest.bucket.ms;
      for (const r of store.rollups) {
        await store.engine.refreshRollup(db, store, r, {
          since: { text: formatDurationMs(since), ms: since, interval: `${since / 1000} seconds` },
        });
      }
    } else {
      // Plain mode: what the deletion marked dirty; TimescaleDB: the refresh window, as maintain would.
      for (const r of store.rollups) await store.engine.refreshRollup(db, store, r, {});
    }
    // A series that still has events is not empty.
    const rollupTables = [...tables.values(), ...(events ? [EVENTS] : [])];
    const routed = await store.engine.seriesGroups(db, { ids });
    let removed: number;
    if (routed) {
      const empty: number[] = [];
      for (const group of routed.groups) {
        const { rows } = await db.query<{ id: number }>(emptySeriesOfShard(group, rollupTables));
        empty.push(...rows.map((r) => r.id));
      }
      removed = empty.length ? (await db.query(deleteSeriesRows(empty))).rowCount : 0;
    } else {
      removed = (await db.query<{ id: number }>(deleteEmptySeries(ids, rollupTables))).rowCount;
    }
    result.seriesRemoved = removed;
    return result;
  };
  return opts.dryRun ? work() : withMaintenanceLock(db, 'delete', work);
}
