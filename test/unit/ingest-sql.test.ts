import { describe, expect, it } from 'vitest';
import {
  copyPoints,
  copyStage,
  countStoredFromStage,
  createStage,
  insertFromStage,
  upsertSeries,
} from '../../src/db/sql/ingest.js';
import { encodeCopyBinary, sortBySeriesTime } from '../../src/ingest/loader.js';

const INSERT_FROM_STAGE =
  'INSERT INTO iotctl.points AS p (time, series_id, value) SELECT time, series_id, value FROM iotctl_ingest_stage';

describe('ingest SQL and COPY encoding', () => {
  it('builds the statements ingest runs', () => {
    expect(copyPoints()).toEqual({
      text: 'COPY iotctl.points (time, series_id, value) FROM STDIN (FORMAT binary)',
      values: [],
    });
    // Counted from RETURNING: Citus's command tag counts conflicts skipped as inserted.
    expect(insertFromStage('skip')).toEqual({
      text: 'WITH written AS (INSERT INTO iotctl.points AS p (time, series_id, value) SELECT time, series_id, value FROM iotctl_ingest_stage ON CONFLICT (series_id, time) DO NOTHING RETURNING 1) SELECT count(*)::int AS n FROM written',
      values: [],
    });
    expect(insertFromStage('update')).toEqual({
      text: `WITH written AS (${INSERT_FROM_STAGE} ON CONFLICT (series_id, time) DO UPDATE SET value = EXCLUDED.value WHERE p.value IS DISTINCT FROM EXCLUDED.value RETURNING 1) SELECT count(*)::int AS n FROM written`,
      values: [],
    });
    expect(insertFromStage('error')).toEqual({
      text: `WITH written AS (${INSERT_FROM_STAGE} RETURNING 1) SELECT count(*)::int AS n FROM written`,
      values: [],
    });
    expect(upsertSeries(['d'], ['m'], [null], ['{"a":"b"}'])).toEqual({
      text: `INSERT INTO iotctl.series AS s (device_id, metric, unit, tags)
SELECT device_id, metric, unit, tags::jsonb FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(device_id, metric, unit, tags)
ON CONFLICT (device_id, metric) DO UPDATE SET unit = coalesce(EXCLUDED.unit, s.unit), tags = coalesce(EXCLUDED.tags, s.tags)
RETURNING id, device_id, metric`,
      values: [['d'], ['m'], [null], ['{"a":"b"}']],
    });
  });

  it('builds the staging statements', () => {
    expect(createStage()).toEqual({
      text: 'CREATE TEMP TABLE iotctl_ingest_stage (time timestamptz NOT NULL, series_id integer NOT NULL, value double precision NOT NULL) ON COMMIT DROP',
      values: [],
    });
    expect(copyStage()).toEqual({
      text: 'COPY iotctl_ingest_stage (time, series_id, value) FROM STDIN (FORMAT binary)',
      values: [],
    });
    // A join, not EXISTS: Citus refuses the correlated subquery between a local and a distributed table.
    expect(countStoredFromStage()).toEqual({
      text: `SELECT count(*)::int AS n FROM iotctl_ingest_stage s
JOIN iotctl.points p ON p.series_id = s.series_id AND p.time = s.time`,
      values: [],
    });
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

  it('orders a batch by (series, time), ties in input order, exactly as a comparison sort does', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const reference = (sid: Int32Array, us: Float64Array, n: number) =>
      Array.from({ length: n }, (_, i) => i).sort((x, y) => sid[x]! - sid[y]! || us[x]! - us[y]! || x - y);
    const cases: Array<[string, (i: number) => [number, number]]> = [
      // time-major input, every series in time order (the counting sort's fast case)
      ['time-major', (i) => [1 + (i % 30), 1000 + Math.floor(i / 30)]],
      // series going back in time, with repeated (series, time) pairs
      ['shuffled with repeats', () => [1 + Math.floor(rand() * 20), Math.floor(rand() * 50)]],
      // ids too sparse for counting: the comparison sort
      ['sparse ids', (i) => [1 + Math.floor(rand() * 2e9), 5 - (i % 3)]],
      ['one series', (i) => [42, i % 2 ? i : -i]],
    ];
    for (const [name, gen] of cases) {
      for (const n of [0, 1, 2, 500, 5000]) {
        const sid = new Int32Array(n);
        const us = new Float64Array(n);
        for (let i = 0; i < n; i++) [sid[i], us[i]] = gen(i);
        expect(Array.from(sortBySeriesTime(sid, us, n)), `${name}, ${n} rows`).toEqual(reference(sid, us, n));
      }
    }
  });
});
