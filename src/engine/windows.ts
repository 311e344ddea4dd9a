// Refreshing a long history in bounded pieces. One refresh statement over years of readings materialises
// them all in one transaction: the embedded engine's memory grows to hold it and its WAL cannot be recycled
// until it commits. Pieces of about a month each, oldest first, bound both; the refresh that follows them
// (the one iotctl always ran) then finds only the newest piece left to do.
import type { Db } from '../db/types.js';
import { floorToBucket } from '../util/buckets.js';

/** How much history one piece of a refresh covers, at most (rounded up to whole buckets). */
export const REFRESH_WINDOW_MS = 30 * 24 * 3_600_000;

/**
 * On a server the memory and the WAL are the server's, bounded by its own settings, and each piece costs a
 * statement (on TimescaleDB 2.28 with 1,853 chunks, 30-day pieces made the sample sets' catch-up 2.2× slower):
 * pieces of a year there.
 */
export const SERVER_REFRESH_WINDOW_MS = 365 * 24 * 3_600_000;

/** The piece length for this target. */
export const refreshWindowOf = (db: Pick<Db, 'target'>): number =>
  db.target.kind === 'embedded' ? REFRESH_WINDOW_MS : SERVER_REFRESH_WINDOW_MS;

/** A half-open range [from, until) in epoch milliseconds. */
export type MsRange = [number, number];

export interface RefreshWindow {
  from: Date;
  until: Date;
}

/** The length of a piece for a rollup of `bucketMs`: REFRESH_WINDOW_MS rounded up to whole buckets. */
export function refreshWindowSpan(bucketMs: number, windowMs = REFRESH_WINDOW_MS): number {
  return Math.max(1, Math.ceil(windowMs / bucketMs)) * bucketMs;
}

export interface WindowPlan {
  bucketMs: number;
  /** Nothing before this is refreshed (the retention clamp, or --since); -Infinity for the whole history. */
  fromMs: number;
  /** Pieces end at or before this (the final refresh does the rest); a bucket boundary is not needed. */
  untilMs: number;
  /** Where the source holds rows (its chunks or partitions). */
  source: MsRange[];
  /** Where the rollup has work: everything from its watermark on, and pending invalidations below it. */
  work: MsRange[];
  windowMs?: number;
}

const overlaps = (a: MsRange, ranges: MsRange[]) => ranges.some(([lo, hi]) => lo < a[1] && hi > a[0]);

/**
 * The pieces to refresh before the final refresh, oldest first: whole windows of the grid of
 * refreshWindowSpan (anchored at the bucket origin, so every edge is a bucket edge and adjacent pieces
 * neither overlap nor leave a gap), keeping those where the source holds rows and the rollup has work.
 */
export function refreshWindows(plan: WindowPlan): RefreshWindow[] {
  const span = refreshWindowSpan(plan.bucketMs, plan.windowMs);
  const starts = new Set<number>();
  for (const [lo, hi] of plan.source) {
    const first = floorToBucket(Math.max(lo, plan.fromMs), span);
    for (let s = first; s < hi && s + span <= plan.untilMs; s += span) starts.add(s);
  }
  return [...starts]
    .sort((a, b) => a - b)
    .map((s): MsRange => [Math.max(s, plan.fromMs), s + span])
    .filter((w) => w[0] < w[1] && overlaps(w, plan.source) && overlaps(w, plan.work))
    .map(([from, until]) => ({ from: new Date(from), until: new Date(until) }));
}
