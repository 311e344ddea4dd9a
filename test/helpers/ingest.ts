// Ingest options as the CLI gives them by default, for tests to override.
import type { IngestOptions } from '../../src/ingest/run.js';
import type { MapOptions } from '../../src/ingest/mapping.js';

export const mapOptions = (over: Partial<MapOptions> = {}): MapOptions => ({
  map: {},
  exclude: [],
  time: { tz: 'UTC' },
  nulls: [],
  maxFutureMs: 3_600_000,
  ranges: new Map(),
  ...over,
});

export function ingestOptions(
  inputs: string[],
  over: Partial<IngestOptions> = {},
  mapping: Partial<IngestOptions['mapping']> = {},
): IngestOptions {
  return {
    inputs,
    batchSize: 50_000,
    flushIntervalMs: 1000,
    workers: 2,
    onConflict: 'skip',
    retryTimeoutMs: 5000,
    dryRun: false,
    ...over,
    mapping: mapOptions(mapping),
  };
}
