// Which source answers each part of an aggregate query: the coarsest rollup that is exact, raw data elsewhere.
//
// A rollup with bucket R can answer `--every E` exactly when E is a whole multiple of R: every E bucket is
// then a union of whole R buckets (both use the same origin, Monday 2000-01-03 UTC). The range is split into
// the R-aligned interior, read from the rollup, and the unaligned edges, planned again with finer rollups and
// finally raw data. A rollup is only read below its watermark and outside ranges with pending invalidations.

import { ceilToBucket, floorToBucket } from '../util/buckets.js';

export interface RollupState {
  name: string;
  bucketMs: number;
  bucketText: string;
  /** Exclusive upper bound of complete buckets (ms); Infinity for real-time continuous aggregates. */
  completeUntil: number;
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
      const lo = ceilToBucket(from, r.bucketMs);
      const aligned = floorToBucket(to, r.bucketMs);
      const hi = Math.min(
        aligned,
        floorToBucket(r.completeUntil === Infinity ? aligned : r.completeUntil, r.bucketMs),
      );
      if (lo >= hi) {
        if (lo < aligned) {
          reason = Number.isFinite(r.completeUntil)
            ? `not yet rolled up in ${r.name} (complete until ${iso(r.completeUntil)})`
            : `${r.name} has no watermark yet (never refreshed)`;
        }
        continue;
      }
      if (r.pending.some(([pLo, pHi]) => pLo < hi && pHi >= lo)) {
        reason = `${r.name} has pending invalidations (rows changed below its watermark, not yet refreshed)`;
        continue;
      }
      const finer = candidates.slice(i + 1);
      const edge = `not aligned to ${r.name} buckets`;
      const tail = hi < aligned ? `after the ${r.name} watermark ${iso(hi)} (the real-time tail)` : edge;
      return [
        ...plan(from, lo, finer, edge),
        {
          source: r.name,
          from: new Date(lo),
          to: new Date(hi),
          reason: `--every ${input.everyText} is a whole multiple of ${r.bucketText}: the coarsest rollup that answers exactly`,
        },
        ...plan(hi, to, finer, tail),
      ];
    }
    return raw(from, to, reason);
  };
  return plan(input.from, input.to, eligible, 'no rollup covers this range');
}

/** One line per segment, for --explain. */
export function describePlan(segments: Segment[]): string[] {
  return segments.map(
    (s) => `${s.source.padEnd(10)} ${iso(s.from.getTime())} .. ${iso(s.to.getTime())}  ${s.reason}`,
  );
}
