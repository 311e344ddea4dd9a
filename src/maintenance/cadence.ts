// What a series' cadence (its usual time between readings) implies for the store: the chunk interval that
// gives each series enough readings per chunk to compress well, and which rollups hold one row per reading.
import { parseDuration, formatDurationMs, type Duration } from '../util/duration.js';

/**
 * Readings of one series a chunk should hold: TimescaleDB compresses up to 1,000 readings of a series into one
 * batch, and a chunk with a few dozen compresses 2-3x where full batches reach 10x (bench/defaults.js).
 */
export const READINGS_PER_CHUNK = 1000;
/** Advice to lengthen chunks starts below this many readings per series per chunk. */
export const FEW_READINGS_PER_CHUNK = 250;
const DAY = 86_400_000;
const WEEK = 7 * DAY;
/** Never shorter than the default: shorter chunks only add per-chunk cost for sparse series. */
export const MIN_CHUNK_INTERVAL = DAY;
/** Never longer: retention drops whole chunks, so a chunk is also the granularity of what it drops. */
export const MAX_CHUNK_INTERVAL = 26 * WEEK;

/** The chunk interval for readings every `cadenceMs`: READINGS_PER_CHUNK of them, in whole days (weeks from 2w). */
export function chunkIntervalFor(cadenceMs: number): Duration {
  const ms = Math.min(MAX_CHUNK_INTERVAL, Math.max(MIN_CHUNK_INTERVAL, cadenceMs * READINGS_PER_CHUNK));
  const rounded = ms >= 2 * WEEK ? Math.floor(ms / WEEK) * WEEK : Math.floor(ms / DAY) * DAY;
  return parseDuration(formatDurationMs(rounded));
}

/** A rollup whose bucket is at or below the cadence gets one row per reading: it saves no work and doubles the data. */
export function rollupFinerThanCadence(bucket: Duration, cadenceMs: number): boolean {
  return bucket.ms <= cadenceMs;
}
