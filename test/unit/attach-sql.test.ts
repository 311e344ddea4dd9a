// The statements of bulk ranges (src/db/sql/attach.ts), pinned: CI has no TimescaleDB server to run them on.
import { describe, expect, it } from 'vitest';
import {
  attachChunk,
  attachChunkAvailable,
  bulkTableName,
  bulkTransactionSettings,
  chunksInRange,
  copyBulk,
  createBulkTable,
  dedupeBulk,
  dropBulkTable,
  insertFromBulk,
  lockPointsForAttach,
  pointsChunkInterval,
  touchRangeEnds,
} from '../../src/db/sql/attach.js';

const from = new Date('2024-03-01T00:00:00Z');
const to = new Date('2024-03-02T00:00:00Z');

describe('bulk range SQL', () => {
  it('names a range table after its start, with a suffix that keeps concurrent loads apart', () => {
    expect(bulkTableName(from.getTime() * 1000, 'ab12cd34')).toBe('points_bulk_20240301_ab12cd34');
    expect(bulkTableName(Date.parse('2024-03-01T06:00:00Z') * 1000, '0f')).toBe(
      'points_bulk_20240301_060000_0f',
    );
    expect(() => bulkTableName(0, 'x; drop')).toThrow(/invalid SQL identifier/);
  });

  it('probes for attach_chunk, the role owning points, and a single fixed time dimension', () => {
    expect(attachChunkAvailable.text).toBe(
      `SELECT to_regprocedure('attach_chunk(regclass, regclass, jsonb)') IS NOT NULL
  AND pg_has_role((SELECT relowner FROM pg_class WHERE oid = 'iotctl.points'::regclass), 'USAGE')
  AND has_schema_privilege('iotctl', 'CREATE') AS available`,
    );
    expect(pointsChunkInterval.text).toBe(
      `SELECT (extract(epoch FROM max(time_interval)) * 1000000)::bigint AS interval_us
FROM timescaledb_information.dimensions
WHERE hypertable_schema = 'iotctl' AND hypertable_name = 'points'
HAVING count(*) = 1 AND max(time_interval) IS NOT NULL AND bool_and(column_name = 'time')`,
    );
  });

  it('lifts the idle-in-transaction and statement timeouts for the transaction of a range only', () => {
    expect(bulkTransactionSettings.map((s) => s.text)).toEqual([
      'SET LOCAL idle_in_transaction_session_timeout = 0',
      'SET LOCAL statement_timeout = 0',
    ]);
  });

  it('builds the statements of one range, from its table to the attach', () => {
    const t = 'points_bulk_20240301_ab12cd34';
    expect(createBulkTable(t)).toEqual({
      text: 'CREATE TABLE iotctl.points_bulk_20240301_ab12cd34 (LIKE iotctl.points INCLUDING DEFAULTS)',
      values: [],
    });
    expect(copyBulk(t).text).toBe(
      'COPY iotctl.points_bulk_20240301_ab12cd34 (time, series_id, value) FROM STDIN (FORMAT binary)',
    );
    expect(lockPointsForAttach.text).toBe('LOCK TABLE iotctl.points IN SHARE UPDATE EXCLUSIVE MODE');
    expect(chunksInRange(from, to)).toEqual({
      text: `SELECT count(*)::int AS n FROM timescaledb_information.chunks
WHERE hypertable_schema = 'iotctl' AND hypertable_name = 'points' AND range_start < $2 AND range_end > $1`,
      values: [from, to],
    });
    expect(attachChunk(t, from, to)).toEqual({
      text: "CALL attach_chunk('iotctl.points'::regclass, 'iotctl.points_bulk_20240301_ab12cd34'::regclass, $1::jsonb)",
      values: ['{"time":["2024-03-01T00:00:00.000Z","2024-03-02T00:00:00.000Z"]}'],
    });
    // The first written of a repeated reading stays (lowest ctid), as ON CONFLICT DO NOTHING keeps the stored one.
    expect(dedupeBulk(t).text).toBe(`WITH gone AS (DELETE FROM iotctl.${t} WHERE ctid = ANY (ARRAY(
  SELECT ctid FROM (SELECT ctid, row_number() OVER (PARTITION BY series_id, time ORDER BY ctid) AS k FROM iotctl.${t}) d WHERE k > 1
)) RETURNING 1) SELECT count(*)::int AS n FROM gone`);
    expect(insertFromBulk(t).text).toBe(
      `WITH written AS (INSERT INTO iotctl.points (time, series_id, value) SELECT time, series_id, value FROM iotctl.${t}
ON CONFLICT (series_id, time) DO NOTHING RETURNING 1) SELECT count(*)::int AS n FROM written`,
    );
    expect(dropBulkTable(t).text).toBe(`DROP TABLE iotctl.${t}`);
    const a = { sid: 3, time: from };
    const b = { sid: 9, time: new Date('2024-03-01T23:59:00Z') };
    expect(touchRangeEnds(a, b)).toEqual({
      text: 'UPDATE iotctl.points SET value = value WHERE (series_id = $1 AND time = $2) OR (series_id = $3 AND time = $4)',
      values: [3, from, 9, b.time],
    });
  });
});
