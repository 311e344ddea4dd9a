// `iotctl advise`: each series' cadence as stored, and where the store's chunk interval or rollups fit it
// poorly, what to change and what that changes (chunks, readings per chunk, the rollup's size).
import { seriesCadence, type SeriesCadenceRow } from '../db/sql/advise.js';
import { qualified } from '../db/sql/ident.js';
import { loadStore, type Store } from '../db/store.js';
import type { Db } from '../db/types.js';
import { perSeriesRows } from '../query/selection.js';
import { formatBytes } from '../util/format.js';
import { formatDurationMs } from '../util/duration.js';
import { FEW_READINGS_PER_CHUNK, chunkIntervalFor, rollupFinerThanCadence } from './cadence.js';

export interface SeriesCadence {
  device: string;
  metric: string;
  /** Median time between its newest readings (`1h`); null below two readings. */
  cadence: string | null;
  cadenceSeconds: number | null;
  first: Date | null;
  last: Date | null;
  /** Its span over its cadence: an upper bound where the series has gaps. */
  readingsEstimate: number;
  /** Readings of this series one chunk holds at its cadence. */
  readingsPerChunk: number | null;
}

export interface Advice {
  /** `chunk interval` or a rollup's name. */
  target: string;
  problem: string;
  change: string;
  /** What following it changes, in this store's figures. */
  effect: string;
}

export interface AdviseResult {
  chunkInterval: string;
  chunks: number;
  rollups: string[];
  series: SeriesCadence[];
  advice: Advice[];
}

/** A chunk holding more than this, uncompressed, no longer fits in memory with its indexes on small hosts. */
export const MAX_CHUNK_BYTES = 2 ** 30;
/** Bytes of one uncompressed reading with its index entry (bench/store-design.js: 50 + 47 MB per 1M rows). */
export const READING_BYTES = 100;
/** A rollup most of whose rows hold a single reading is a poor fit. */
const SINGLE_ROW_SHARE = 0.5;

/** The value below which half the weight lies. */
function weightedMedian(items: Array<{ value: number; weight: number }>): number | null {
  const sorted = items.filter((i) => i.weight > 0).sort((a, b) => a.value - b.value);
  const total = sorted.reduce((s, i) => s + i.weight, 0);
  let seen = 0;
  for (const i of sorted) {
    seen += i.weight;
    if (seen >= total / 2) return i.value;
  }
  return null;
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');

export function cadenceOf(r: SeriesCadenceRow, chunkMs: number): SeriesCadence {
  const step = r.step_seconds === null ? null : Number(r.step_seconds);
  const first = r.first ? new Date(r.first) : null;
  const last = r.last ? new Date(r.last) : null;
  const span = first && last ? last.getTime() - first.getTime() : 0;
  return {
    device: r.device,
    metric: r.metric,
    cadence: step ? formatDurationMs(Math.round(step * 1000)) : null,
    cadenceSeconds: step,
    first,
    last,
    readingsEstimate: step ? Math.floor(span / (step * 1000)) + 1 : first ? 1 : 0,
    readingsPerChunk: step ? Math.round(chunkMs / (step * 1000)) : null,
  };
}

/** The advice for a store whose series have these cadences; sizes and chunk ranges from the database. */
export function adviceFor(
  store: Pick<Store, 'chunkInterval' | 'rollups'>,
  series: SeriesCadence[],
  facts: {
    chunkStarts: number[];
    rawBytes: number;
    rollupBytes: Map<string, number>;
    compresses: boolean;
  },
): Advice[] {
  const advice: Advice[] = [];
  const timed = series.filter((s) => s.cadenceSeconds);
  if (!timed.length) return advice;
  const chunkMs = store.chunkInterval.ms;
  const perChunk = weightedMedian(
    timed.map((s) => ({ value: s.readingsPerChunk as number, weight: s.readingsEstimate })),
  );
  const typicalStepMs =
    (weightedMedian(
      timed.map((s) => ({ value: s.cadenceSeconds as number, weight: s.readingsEstimate })),
    ) as number) * 1000;
  const cadenceText = formatDurationMs(Math.round(typicalStepMs));
  const chunkBytes = timed.reduce((b, s) => b + (s.readingsPerChunk as number) * READING_BYTES, 0);
  const chunksAt = (ms: number) => new Set(facts.chunkStarts.map((t) => Math.floor(t / ms))).size;
  if (perChunk !== null && perChunk < FEW_READINGS_PER_CHUNK) {
    const better = chunkIntervalFor(typicalStepMs);
    if (better.ms > chunkMs) {
      advice.push({
        target: 'chunk interval',
        problem:
          `${store.chunkInterval.text} chunks hold ~${count(perChunk)} readings of a typical series ` +
          `(cadence ${cadenceText}); ${facts.compresses ? 'compression packs up to 1,000 readings of a series per batch, so few per chunk compress 2-3x instead of ~10x, and ' : ''}every chunk adds catalog and planning cost`,
        change:
          `--chunk-interval ${better.text} (~${count(better.ms / typicalStepMs)} readings per series per chunk): ` +
          `\`iotctl init --chunk-interval ${better.text}\` applies to chunks created from now on; ` +
          `for the data already stored, load it into a store made with \`iotctl init --cadence ${cadenceText}\``,
        effect: `chunks ${count(facts.chunkStarts.length)} -> ~${count(chunksAt(better.ms))} for the data stored now`,
      });
    }
  } else if (chunkBytes > MAX_CHUNK_BYTES) {
    const hours = Math.max(1, Math.floor(((chunkMs / 3_600_000) * MAX_CHUNK_BYTES) / chunkBytes));
    const shorter = formatDurationMs(hours * 3_600_000);
    advice.push({
      target: 'chunk interval',
      problem: `a ${store.chunkInterval.text} chunk of all ${timed.length} series holds ~${formatBytes(chunkBytes)} uncompressed: recent chunks should fit in memory with their indexes`,
      change: `\`iotctl init --chunk-interval ${shorter}\` (chunks created from now on)`,
      effect: `~${formatBytes((chunkBytes * hours * 3_600_000) / chunkMs)} per chunk`,
    });
  }

  for (const [index, rollup] of store.rollups.entries()) {
    const coarser = store.rollups[index + 1];
    let single = 0;
    let rows = 0;
    let singleSeries = 0;
    for (const s of timed) {
      const stepMs = (s.cadenceSeconds as number) * 1000;
      if (rollupFinerThanCadence(rollup.bucket, stepMs)) {
        single += s.readingsEstimate;
        rows += s.readingsEstimate;
        singleSeries++;
      } else rows += s.readingsEstimate * (stepMs / rollup.bucket.ms);
    }
    if (!rows || single / rows < SINGLE_ROW_SHARE) continue;
    const bytes = facts.rollupBytes.get(rollup.name) ?? 0;
    const times =
      facts.rawBytes > 0
        ? ` (${(bytes / facts.rawBytes).toFixed(1)}x the readings' ${formatBytes(facts.rawBytes)})`
        : '';
    advice.push({
      target: rollup.name,
      problem:
        `${singleSeries} of ${timed.length} series have a cadence of ${rollup.bucket.text} or coarser, so ` +
        `${Math.round((100 * single) / rows)}% of its ~${count(rows)} rows hold one reading each: it takes ${formatBytes(bytes)}${times} and saves queries little work`,
      change:
        `a store for this data without it: \`iotctl init --cadence ${cadenceText}\` skips rollups at or below the cadence; ` +
        (coarser ? `in this store it stays (${coarser.name} is built on it)` : 'in this store it stays') +
        (facts.compresses
          ? '; `iotctl init` adds its compression policy where it has none and `iotctl maintain` runs it'
          : ''),
      effect: `${formatBytes(bytes)} less on disk`,
    });
  }
  return advice;
}

export async function advise(db: Db): Promise<AdviseResult> {
  const store = await loadStore(db);
  // Per shard on Citus: the per-series LIMIT subqueries over every shard are refused there.
  const rows = await perSeriesRows<SeriesCadenceRow>(db, store.engine, {}, seriesCadence);
  const series = rows.map((r) => cadenceOf(r, store.chunkInterval.ms));
  const chunks = await store.engine.listChunks(db, 'points');
  const sizes = await store.engine.rollupSizes(
    db,
    store.rollups.map((r) => r.name),
  );
  const advice = adviceFor(store, series, {
    chunkStarts: chunks.map((c) => new Date(c.range_start).getTime()),
    rawBytes: chunks.reduce((s, c) => s + Number(c.bytes), 0),
    rollupBytes: new Map(sizes.map((s) => [s.name, Number(s.bytes)])),
    compresses: store.engine.compresses,
  });
  return {
    chunkInterval: store.chunkInterval.text,
    chunks: chunks.length,
    rollups: store.rollups.map((r) => qualified(r.name)),
    series,
    advice,
  };
}
