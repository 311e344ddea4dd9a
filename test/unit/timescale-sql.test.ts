// The version-dependent TimescaleDB statements, pinned by exact strings for 2.13, 2.17 and 2.18+.
import { describe, expect, it } from 'vitest';
import {
  dropChunksOlderThan,
  tsdbChunkTotals,
  tsdbChunks,
  tsdbRollupSizes,
} from '../../src/db/sql/maintenance.js';
import {
  addCompressionPolicy,
  addRefreshPolicy,
  addRetentionPolicy,
  compressChunk,
  decompressChunk,
  parseTsdbVersion,
  refreshContinuousAggregate,
  removeCompressionPolicy,
  removeRefreshPolicy,
  removeRetentionPolicy,
  runJob,
} from '../../src/db/sql/timescale.js';

const v213 = parseTsdbVersion('2.13.1');
const v217 = parseTsdbVersion('2.17.2');
const v218 = parseTsdbVersion('2.18.0');
const v223 = parseTsdbVersion('2.23.0');
const chunk = '_timescaledb_internal._hyper_1_12_chunk';

describe('TimescaleDB maintenance SQL by version', () => {
  it('compression policy: add_compression_policy up to 2.17, add_columnstore_policy (CALL, after =>) from 2.18', () => {
    for (const v of [v213, v217]) {
      expect(addCompressionPolicy(v, 'iotctl.points', '7 days').text).toBe(
        "SELECT add_compression_policy('iotctl.points', compress_after => INTERVAL '7 days', if_not_exists => true)",
      );
      expect(removeCompressionPolicy(v, 'iotctl.points').text).toBe(
        "SELECT remove_compression_policy('iotctl.points', if_exists => true)",
      );
    }
    for (const v of [v218, v223]) {
      expect(addCompressionPolicy(v, 'iotctl.points', '7 days').text).toBe(
        "CALL add_columnstore_policy('iotctl.points', after => INTERVAL '7 days', if_not_exists => true)",
      );
      expect(removeCompressionPolicy(v, 'iotctl.points').text).toBe(
        "CALL remove_columnstore_policy('iotctl.points', if_exists => true)",
      );
    }
  });

  it('compresses and decompresses one chunk: compress_chunk up to 2.17, convert_to_columnstore from 2.18', () => {
    for (const v of [v213, v217]) {
      expect(compressChunk(v, chunk).text).toBe(
        "SELECT compress_chunk('_timescaledb_internal._hyper_1_12_chunk', if_not_compressed => true)",
      );
      expect(decompressChunk(v, chunk).text).toBe(
        "SELECT decompress_chunk('_timescaledb_internal._hyper_1_12_chunk', if_compressed => true)",
      );
    }
    for (const v of [v218, v223]) {
      expect(compressChunk(v, chunk).text).toBe(
        "CALL convert_to_columnstore('_timescaledb_internal._hyper_1_12_chunk', if_not_columnstore => true)",
      );
      expect(decompressChunk(v, chunk).text).toBe(
        "CALL convert_to_rowstore('_timescaledb_internal._hyper_1_12_chunk', if_columnstore => true)",
      );
    }
  });

  it('refuses a chunk name that is not schema.name', () => {
    expect(() => compressChunk(v223, "x'); DROP TABLE iotctl.points; --")).toThrow(/invalid chunk name/);
    expect(() => decompressChunk(v217, '_hyper_1_12_chunk')).toThrow(/invalid chunk name/);
  });

  it('lists chunks from the catalog, with show_chunks only for the older-than rule drop_chunks applies', () => {
    const cutoff = new Date('2026-01-01T00:00:00Z');
    const old = tsdbChunks('iotctl.points', cutoff);
    expect(old.text).toContain(
      'WHERE pc.oid IN (SELECT show_chunks($1::regclass, older_than => $2::timestamptz))',
    );
    expect(old.values).toEqual(['iotctl.points', cutoff]);
    const all = tsdbChunks('iotctl.points');
    expect(all.text).not.toContain('show_chunks');
    expect(all.values).toEqual(['iotctl.points']);
    // Regression: the size functions and the information views walked every chunk of every hypertable and
    // stat'ed each file twice: `status` took 7 s on the embedded store of the four sample sets.
    for (const sql of [all, tsdbChunkTotals('iotctl.points'), tsdbRollupSizes(['rollup_1m'])]) {
      expect(sql.text).not.toMatch(/timescaledb_information|chunks_detailed_size|_stats\(|hypertable_size/);
    }
    expect(tsdbChunkTotals('iotctl.points').text).toContain(
      all.text.slice(0, all.text.indexOf('\nSELECT c.chunk')),
    );
  });

  it('retention, refresh and jobs are spelled the same in every supported version', () => {
    expect(addRetentionPolicy('iotctl.rollup_1h', '90 days').text).toBe(
      "SELECT add_retention_policy('iotctl.rollup_1h', drop_after => INTERVAL '90 days', if_not_exists => true)",
    );
    expect(removeRetentionPolicy('iotctl.points').text).toBe(
      "SELECT remove_retention_policy('iotctl.points', if_exists => true)",
    );
    expect(addRefreshPolicy('iotctl.rollup_1m', '1 minute', '5 minutes').text).toBe(
      "SELECT add_continuous_aggregate_policy('iotctl.rollup_1m', start_offset => NULL, end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '5 minutes', if_not_exists => true)",
    );
    expect(
      addRefreshPolicy('iotctl.rollup_1m', '1 minute', '5 minutes', parseTsdbVersion('2.18.2')).text,
    ).toBe(
      "SELECT add_continuous_aggregate_policy('iotctl.rollup_1m', start_offset => NULL, end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '5 minutes', if_not_exists => true)",
    );
    // Regression: the batched refresh default made the first maintain after a big load take minutes.
    expect(
      addRefreshPolicy('iotctl.rollup_1m', '1 minute', '5 minutes', parseTsdbVersion('2.23.0-dev')).text,
    ).toBe(
      "SELECT add_continuous_aggregate_policy('iotctl.rollup_1m', start_offset => NULL, end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '5 minutes', if_not_exists => true, buckets_per_batch => 0)",
    );
    // Regression: with retention on the source, an open start refreshed over dropped chunks and deleted history.
    expect(
      addRefreshPolicy('iotctl.rollup_1m', '1 minute', '5 minutes', undefined, '2878 minutes').text,
    ).toBe(
      "SELECT add_continuous_aggregate_policy('iotctl.rollup_1m', start_offset => INTERVAL '2878 minutes', end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '5 minutes', if_not_exists => true)",
    );
    expect(removeRefreshPolicy('iotctl.rollup_1m').text).toBe(
      "SELECT remove_continuous_aggregate_policy('iotctl.rollup_1m', if_exists => true)",
    );
    expect(refreshContinuousAggregate('iotctl.rollup_1h', null, null).text).toBe(
      "CALL refresh_continuous_aggregate('iotctl.rollup_1h', NULL, NULL)",
    );
    expect(refreshContinuousAggregate('iotctl.rollup_1h', new Date('2026-11-20T00:00:00Z'), null).text).toBe(
      "CALL refresh_continuous_aggregate('iotctl.rollup_1h', TIMESTAMPTZ '2026-11-20T00:00:00.000Z', NULL)",
    );
    // 2.28 batches a manual refresh 10 buckets at a time: one batch instead (a history load took an hour).
    expect(refreshContinuousAggregate('iotctl.rollup_1m', null, null, parseTsdbVersion('2.28.3')).text).toBe(
      `CALL refresh_continuous_aggregate('iotctl.rollup_1m', NULL, NULL, options => '{"buckets_per_batch": 0}')`,
    );
    expect(refreshContinuousAggregate('iotctl.rollup_1m', null, null, parseTsdbVersion('2.23.0')).text).toBe(
      "CALL refresh_continuous_aggregate('iotctl.rollup_1m', NULL, NULL)",
    );
    expect(runJob(1002).text).toBe('CALL run_job(1002)');
    expect(() => runJob(1.5)).toThrow();
    expect(dropChunksOlderThan('iotctl.points', new Date(0))).toEqual({
      text: 'SELECT c::text AS chunk FROM drop_chunks($1::regclass, older_than => $2::timestamptz) c',
      values: ['iotctl.points', new Date(0)],
    });
  });
});
