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

/**
 * The exact plans to choose from, coarsest first: the plan above, the same without its coarsest rollup, and
 * so on down to raw data alone. Each reads a rollup only where it is complete.
 */
export function candidatePlans(input: PlanInput): Segment[][] {
  const first = planSources(input);
  if (input.rawOnly) return [first];
  const eligible = input.rollups
    .filter((r) => input.everyMs % r.bucketMs === 0)
    .sort((a, b) => b.bucketMs - a.bucketMs);
  const plans = [first];
  for (let k = 1; k <= eligible.length; k++) {
    const dropped = new Set(eligible.slice(0, k).map((r) => r.name));
    const rollups = input.rollups.filter((r) => !dropped.has(r.name));
    plans.push(
      k < eligible.length
        ? planSources({ ...input, rollups })
        : [{ source: 'raw', from: new Date(input.from), to: new Date(input.to), reason: 'raw data only' }],
    );
  }
  const key = (p: Segment[]) => p.map((s) => `${s.source}@${s.from.getTime()}-${s.to.getTime()}`).join();
  return plans.filter((p, i) => plans.findIndex((q) => key(q) === key(p)) === i);
}

/**
 * What a source row costs, in raw readings. A rollup row is wider than a reading (seven columns against
 * three) and sums five of them: measured at 1.0-1.2 readings (bench/query.js, 24 h every 15 m over 5-minute
 * readings), rounded up so that a rollup as big as the raw data is not read for nothing. One read as stored
 * (its bucket is --every) is not aggregated again.
 */
export const ROW_COST = { raw: 1, rollup: 1.25, rollupAsStored: 0.5 } as const;

/**
 * Another plan replaces the coarsest only when it is cheaper by this share and this many weighted rows:
 * below that the estimates cannot tell them apart, and the coarsest plan is the stable answer.
 */
export const SWITCH_MARGIN = { share: 0.1, rows: 1000 } as const;

export interface PlanCost {
  /** The plan's coarsest source: what --explain calls it by. */
  source: string;
  rows: number;
  /** Rows weighted by ROW_COST. */
  cost: number;
}

export interface Choice {
  segments: Segment[];
  /** Every candidate, the chosen one first; empty when there was nothing to choose. */
  costs: PlanCost[];
}

/** The coarsest source of a plan (raw when it reads raw data only). */
function primaryOf(plan: Segment[], bucketMs: (source: string) => number): Segment {
  return plan.reduce((a, b) => (bucketMs(b.source) > bucketMs(a.source) ? b : a));
}

/**
 * The cheapest of the candidate plans (coarsest first) by estimated rows read (`rows` per segment), each
 * row weighted by ROW_COST, unless it beats the coarsest by less than SWITCH_MARGIN. The chosen plan's
 * primary segment says why, with the estimates of every candidate.
 */
export function choosePlan(
  candidates: Segment[][],
  rows: (segment: Segment) => number,
  bucketMs: (source: string) => number,
  everyMs: number,
): Choice {
  const first = candidates[0] as Segment[];
  if (candidates.length === 1) return { segments: first, costs: [] };
  const priced = candidates.map((plan) => {
    let total = 0;
    let cost = 0;
    for (const s of plan) {
      const n = rows(s);
      const b = bucketMs(s.source);
      total += n;
      cost += n * (b === 0 ? ROW_COST.raw : b === everyMs ? ROW_COST.rollupAsStored : ROW_COST.rollup);
    }
    return { plan, cost: { source: primaryOf(plan, bucketMs).source, rows: total, cost } };
  });
  const coarsest = priced[0] as (typeof priced)[number];
  const cheapest = priced.reduce((a, b) => (b.cost.cost < a.cost.cost ? b : a));
  const saving = coarsest.cost.cost - cheapest.cost.cost;
  const clear = saving >= Math.max(SWITCH_MARGIN.rows, SWITCH_MARGIN.share * coarsest.cost.cost);
  const best = clear ? cheapest : coarsest;
  const others = priced.filter((c) => c !== best);
  const primary = primaryOf(best.plan, bucketMs);
  const structural =
    primary.source === 'raw'
      ? 'raw data'
      : primary.reason.replace(/: the coarsest rollup that answers exactly$/, '');
  const verdict =
    best === cheapest
      ? primary.source === 'raw'
        ? ' is the cheapest exact source'
        : '; the cheapest exact source'
      : `; no other exact source is cheaper by ${100 * SWITCH_MARGIN.share}%`;
  const weighed = others.some((c) => c.cost.rows <= best.cost.rows)
    ? `; a rollup row counts as ${ROW_COST.rollup} readings`
    : '';
  const against = others.map((c) => `${fmt(c.cost.rows)} with ${c.cost.source}`).join(', ');
  const note = `${structural}${verdict}: about ${fmt(best.cost.rows)} rows to read, against ${against} (planner estimates${weighed})`;
  return {
    segments: best.plan.map((s) => (s === primary ? { ...s, reason: note } : s)),
    costs: [best, ...others].map((c) => c.cost),
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
