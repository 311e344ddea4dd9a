import { describe, expect, it } from 'vitest';
import { parseRollups } from '../../src/maintenance/init.js';
import { partitionName, partitionStart, createPartition } from '../../src/db/sql/partitions.js';
import { dateBin } from '../../src/db/sql/plain.js';
import {
  continuousAggregateSteps,
  createHypertable,
  enableCompression,
  parseTsdbVersion,
} from '../../src/db/sql/timescale.js';
import { PlainEngine } from '../../src/engine/plain.js';
import { parseDuration } from '../../src/util/duration.js';

describe('schema SQL', () => {
  it('uses by_range from TimescaleDB 2.13 and the old signature before', () => {
    expect(createHypertable(parseTsdbVersion('2.12.2'), 'iotctl.points', 'time', '1 day').text).toBe(
      "SELECT create_hypertable('iotctl.points', 'time', chunk_time_interval => INTERVAL '1 day', create_default_indexes => false, if_not_exists => true)",
    );
    expect(createHypertable(parseTsdbVersion('2.13.0'), 'iotctl.points', 'time', '6 hours').text).toBe(
      "SELECT create_hypertable('iotctl.points', by_range('time', INTERVAL '6 hours'), create_default_indexes => false, if_not_exists => true)",
    );
  });

  it('enables compression with the API of the version', () => {
    expect(
      enableCompression(parseTsdbVersion('2.17.2'), 'iotctl.points', 'series_id', 'time DESC').text,
    ).toBe(
      "ALTER TABLE iotctl.points SET (timescaledb.compress = true, timescaledb.compress_segmentby = 'series_id', timescaledb.compress_orderby = 'time DESC')",
    );
    expect(
      enableCompression(parseTsdbVersion('2.23.0-dev'), 'iotctl.points', 'series_id', 'time DESC').text,
    ).toBe(
      "ALTER TABLE iotctl.points SET (timescaledb.enable_columnstore = true, timescaledb.segmentby = 'series_id', timescaledb.orderby = 'time DESC')",
    );
  });

  it('builds rollups hierarchically, finest first, from sums and counts', () => {
    const steps = continuousAggregateSteps(parseTsdbVersion('2.23.0'), parseRollups('1d,1m,1h'));
    const views = steps
      .filter((s) => s.object.startsWith('rollup '))
      .map((s) => s.statements[0]?.text as string);
    expect(views).toHaveLength(3);
    expect(views[0]).toMatch(
      /rollup_1m[\s\S]*time_bucket\(INTERVAL '1 minutes', time\)[\s\S]*FROM iotctl\.points/,
    );
    expect(views[1]).toMatch(/rollup_1h[\s\S]*sum\(count\)[\s\S]*FROM iotctl\.rollup_1m/);
    expect(views[2]).toMatch(/rollup_1d[\s\S]*FROM iotctl\.rollup_1h[\s\S]*WITH NO DATA$/);
  });

  it('plain mode uses date_bin with time_bucket’s origin and native partitions', () => {
    expect(dateBin('1 hours', 'time')).toBe(
      "date_bin(INTERVAL '1 hours', time, TIMESTAMPTZ '2000-01-03 00:00:00+00')",
    );
    const steps = new PlainEngine().schemaSteps({ chunkInterval: parseDuration('1d'), rollups: [] });
    expect(steps.some((s) => /PARTITION BY RANGE \(time\)/.test(String(s.statements[0]?.text)))).toBe(true);
    expect(steps.some((s) => /timescaledb/.test(JSON.stringify(s.statements)))).toBe(false);
    const day = 86_400_000;
    const t = Date.parse('2026-11-22T13:45:00Z');
    expect(partitionName(partitionStart(t, day))).toBe('points_p20261122_0000');
    expect(createPartition(partitionStart(t, day), day).text).toBe(
      "CREATE TABLE IF NOT EXISTS iotctl.points_p20261122_0000 PARTITION OF iotctl.points FOR VALUES FROM ('2026-11-22T00:00:00.000Z') TO ('2026-11-23T00:00:00.000Z')",
    );
  });

  it('rejects a rollup listed twice', () => {
    expect(() => parseRollups('1h,60m')).toThrow(/listed twice/);
    expect(parseRollups('none')).toEqual([]);
  });
});
