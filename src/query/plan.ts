// Which source answers each part of an aggregate query: the coarsest rollup that is exact, raw data elsewhere.
//
// A rollup with bucket R can answer `--every E` exactly when E is a whole multiple of R: every E bucket is
// then a union of whole R buckets (both use the same origin, Monday 2000-01-03 UTC). The range is split into
// the R-aligned interior, read from the rollup, and the unaligned edges, planned again with finer rollups and
// finally raw data. A rollup is only read where it is complete: from its retention cutoff (older buckets were
// deleted) up to its watermark and its oldest dirty mark (plain mode), and outside ranges with pending
// invalidations (TimescaleDB).

import { ceilToBucket, floorToBucket } from '../util/buckets.js';

export interface RollupState {
  name: string;
  bucketMs: number;
  bucketText: string;
  /** Inclusive lower bound of complete buckets (ms): the retention cutoff aligned up; -Infinity if kept forever. */
  completeFrom: number;
  /** The retention policy behind completeFrom (`30 days`), for --explain. */
  retention?: string;
  /** Exclusive upper bound of complete buckets (ms); Infinity for real-time continuous aggregates. */
  completeUntil: number;
  /** Plain mode: the dirty mark (on this rollup or a finer one) that lowered completeUntil below the watermark. */
  dirty?: { rollup: string; from: number };
  /** Ranges [lo, hi] (ms, inclusive) changed below the watermark and not yet refreshed. */
  pending: Array<[number, number]>;
}

export interface Segment {
  source: string;
  from: Date;
  to: Date;
  reason: string;
}

export interface PlanInput {
  from: number;
  to: number;
  everyMs: number;
  everyText: string;
  rollups: RollupState[];
  /** Set when the query needs raw values whatever the rollups (percentiles): the reason. */
  rawOnly?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function planSources(input: PlanInput): Segment[] {
  const raw = (from: number, to: number, reason: string): Segment[] =>
    from < to ? [{ source: 'raw', from: new Date(from), to: new Date(to), reason }] : [];
  if (input.rawOnly) return raw(input.from, input.to, input.rawOnly);
  const eligible = input.rollups
    .filter((r) => input.everyMs % r.bucketMs === 0)
    .sort((a, b) => b.bucketMs - a.bucketMs);
  if (input.rollups.length === 0) return raw(input.from, input.to, 'no rollups are configured');
  if (eligible.length === 0) {
    const names = input.rollups.map((r) => r.bucketText).join(', ');
    return raw(input.from, input.to, `no rollup bucket (${names}) divides --every ${input.everyText}`);
  }

  const plan = (from: number, to: number, candidates: RollupState[], why: string): Segment[] => {
    if (from >= to) return [];
    let reason = why;
    for (const [i, r] of candidates.entries()) {
      const first = ceilToBucket(from, r.bucketMs);
      const aligned = floorToBucket(to, r.bucketMs);
      const lo = Math.max(first, ceilToBucket(r.completeFrom, r.bucketMs));
      const hi = Math.min(
        aligned,
        floorToBucket(r.completeUntil === Infinity ? aligned : r.completeUntil, r.bucketMs),
      );
      if (lo >= hi) {
        if (first < aligned) reason = hi <= first ? untilReason(r, hi, true) : retentionReason(r);
        continue;
      }
      if (r.pending.some(([pLo, pHi]) => pLo < hi && pHi >= lo)) {
        reason = `${r.name} has pending invalidations (rows changed below its watermark, not yet refreshed)`;
        continue;
      }
      const finer = candidates.slice(i + 1);
      const edge = `not aligned to ${r.name} buckets`;
      return [
        ...plan(from, lo, finer, lo > first ? retentionReason(r) : edge),
        {
          source: r.name,
          from: new Date(lo),
          to: new Date(hi),
          reason: `--every ${input.everyText} is a whole multiple of ${r.bucketText}: the coarsest rollup that answers exactly`,
        },
        ...plan(hi, to, finer, hi < aligned ? untilReason(r, hi) : edge),
      ];
    }
    return raw(from, to, reason);
  };
  return plan(input.from, input.to, eligible, 'no rollup covers this range');
}

/** Why rollup `r` does not answer from `hi` on; `before` when the range starts after `hi`. */
function untilReason(r: RollupState, hi: number, before = false): string {
  if (r.dirty) {
    return `${r.name} is not exact from ${iso(floorToBucket(r.completeUntil, r.bucketMs))}: rows changed below its watermark since the last refresh (dirty:${r.dirty.rollup} from ${iso(r.dirty.from)})`;
  }
  if (!before) return `after the ${r.name} watermark ${iso(hi)} (the real-time tail)`;
  return Number.isFinite(r.completeUntil)
    ? `not yet rolled up in ${r.name} (complete until ${iso(r.completeUntil)})`
    : `${r.name} has no watermark yet (never refreshed)`;
}

function retentionReason(r: RollupState): string {
  return `older than the ${r.name} retention cutoff ${iso(r.completeFrom)} (kept ${r.retention ?? '?'})`;
}

/** One line per segment, for --explain. */
export function describePlan(segments: Segment[]): string[] {
  return segments.map(
    (s) => `${s.source.padEnd(10)} ${iso(s.from.getTime())} .. ${iso(s.to.getTime())}  ${s.reason}`,
  );
}
