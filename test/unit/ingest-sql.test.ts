import { describe, expect, it } from 'vitest';
import { encodeCopyBinary } from '../../src/ingest/loader.js';
import { copyPoints, insertFromStage, upsertSeries } from '../../src/ingest/sql.js';

describe('ingest SQL and COPY encoding', () => {
  it('builds the statements ingest runs', () => {
    expect(copyPoints).toBe('COPY iotctl.points (time, series_id, value) FROM STDIN (FORMAT binary)');
    expect(insertFromStage('skip')).toBe(
      'INSERT INTO iotctl.points AS p (time, series_id, value) SELECT time, series_id, value FROM iotctl_ingest_stage ON CONFLICT (series_id, time) DO NOTHING',
    );
    expect(insertFromStage('update')).toMatch(
      /DO UPDATE SET value = EXCLUDED.value WHERE p.value IS DISTINCT FROM EXCLUDED.value$/,
    );
    expect(insertFromStage('error')).not.toMatch(/ON CONFLICT/);
    const u = upsertSeries(['d'], ['m'], [null], ['{"a":"b"}']);
    expect(u.text).toMatch(/FROM unnest\(\$1::text\[\], \$2::text\[\], \$3::text\[\], \$4::text\[\]\)/);
    expect(u.values).toEqual([['d'], ['m'], [null], ['{"a":"b"}']]);
  });

  it('encodes COPY binary tuples in the given order (times as microseconds since 2000-01-01)', () => {
    const sid = Int32Array.from([7, 9]);
    const us = Float64Array.from([946_684_800_000_001, 0]);
    const value = Float64Array.from([1.5, -2]);
    const buf = encodeCopyBinary(sid, us, value, [1, 0], 2);
    expect(buf.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
    expect(buf.length).toBe(19 + 2 * 34 + 2);
    let o = 19;
    const tuple = () => {
      expect(buf.readInt16BE(o)).toBe(3);
      const t = buf.readBigInt64BE(o + 6);
      const s = buf.readInt32BE(o + 18);
      const v = buf.readDoubleBE(o + 26);
      o += 34;
      return [t, s, v];
    };
    expect(tuple()).toEqual([-946_684_800_000_000n, 9, -2]);
    expect(tuple()).toEqual([1n, 7, 1.5]);
    expect(buf.readInt16BE(o)).toBe(-1);
  });
});
