// Exact text of the statements `iotctl anomalies` builds (db/sql/anomalies.ts), and the unpacking of
// the packed readings they return.
import { describe, expect, it } from 'vitest';
import { split } from '../../src/anomalies/stream.js';
import { anomalySeries, readingsSlice } from '../../src/db/sql/anomalies.js';

const since = new Date('2026-01-05T06:00:00Z');
const until = new Date('2026-01-05T08:00:00Z');

describe('anomalies SQL builders', () => {
  it('anomalySeries with a history in readings: the n-th reading before --since, else the first', () => {
    const q = anomalySeries({ metric: 'temp' }, since, until, { readings: 300 });
    expect(q.text)
      .toBe(`WITH sel AS (SELECT id, device_id, metric, unit FROM iotctl.series WHERE metric = $1),
h AS (SELECT sel.*, coalesce((SELECT r.time FROM iotctl.points r WHERE r.series_id = sel.id AND r.time < $2::timestamptz
                    ORDER BY r.time DESC OFFSET $3::int LIMIT 1),
                   (SELECT r.time FROM iotctl.points r WHERE r.series_id = sel.id AND r.time < $2::timestamptz
                    ORDER BY r.time LIMIT 1),
                   $2::timestamptz) AS history_from FROM sel)
SELECT h.id, h.device_id AS device, h.metric, h.unit, h.history_from,
       (SELECT r.time FROM iotctl.points r WHERE r.series_id = h.id AND r.time >= h.history_from AND r.time < $4::timestamptz
         ORDER BY r.time LIMIT 1) AS first,
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY l.gap)
          FROM (SELECT extract(epoch FROM lag(x.time) OVER (ORDER BY x.time DESC) - x.time) * 1000 AS gap
                  FROM (SELECT r.time FROM iotctl.points r WHERE r.series_id = h.id AND r.time < $4::timestamptz
                         ORDER BY r.time DESC LIMIT 33) x) l) AS cadence_ms
  FROM h
 ORDER BY h.device_id, h.metric`);
    expect(q.values).toEqual(['temp', since, 299, until]);
  });

  it('anomalySeries with a history as a duration', () => {
    const q = anomalySeries({ metric: 'temp' }, since, until, { ms: 86_400_000 });
    expect(q.text)
      .toBe(`WITH sel AS (SELECT id, device_id, metric, unit FROM iotctl.series WHERE metric = $1),
h AS (SELECT sel.*, $2::timestamptz - $3::interval AS history_from FROM sel)
SELECT h.id, h.device_id AS device, h.metric, h.unit, h.history_from,
       (SELECT r.time FROM iotctl.points r WHERE r.series_id = h.id AND r.time >= h.history_from AND r.time < $4::timestamptz
         ORDER BY r.time LIMIT 1) AS first,
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY l.gap)
          FROM (SELECT extract(epoch FROM lag(x.time) OVER (ORDER BY x.time DESC) - x.time) * 1000 AS gap
                  FROM (SELECT r.time FROM iotctl.points r WHERE r.series_id = h.id AND r.time < $4::timestamptz
                         ORDER BY r.time DESC LIMIT 33) x) l) AS cadence_ms
  FROM h
 ORDER BY h.device_id, h.metric`);
    expect(q.values).toEqual(['temp', since, '86400000 milliseconds', until]);
  });

  it('anomalySeries without history', () => {
    const q = anomalySeries({ metric: 'temp' }, since, until, {});
    expect(q.text)
      .toBe(`WITH sel AS (SELECT id, device_id, metric, unit FROM iotctl.series WHERE metric = $1),
h AS (SELECT sel.*, $2::timestamptz AS history_from FROM sel)
SELECT h.id, h.device_id AS device, h.metric, h.unit, h.history_from,
       (SELECT r.time FROM iotctl.points r WHERE r.series_id = h.id AND r.time >= h.history_from AND r.time < $3::timestamptz
         ORDER BY r.time LIMIT 1) AS first,
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY l.gap)
          FROM (SELECT extract(epoch FROM lag(x.time) OVER (ORDER BY x.time DESC) - x.time) * 1000 AS gap
                  FROM (SELECT r.time FROM iotctl.points r WHERE r.series_id = h.id AND r.time < $3::timestamptz
                         ORDER BY r.time DESC LIMIT 33) x) l) AS cadence_ms
  FROM h
 ORDER BY h.device_id, h.metric`);
    expect(q.values).toEqual(['temp', since, until]);
  });

  it('readingsSlice: one row, the series id, time and value of each reading packed together', () => {
    const q = readingsSlice([3, 5], since, until);
    expect(q.text).toBe(`SELECT count(*)::int AS n,
       string_agg(int4send(r.series_id) || timestamptz_send(r.time) || float8send(r.value), ''::bytea) AS readings
  FROM iotctl.points r
 WHERE r.series_id = ANY($1::int[]) AND r.time >= $2::timestamptz AND r.time < $3::timestamptz`);
    expect(q.values).toEqual([[3, 5], since, until]);
  });

  it('readingsSlice with candidates: counts every reading, packs only the candidates', () => {
    const q = readingsSlice([3], since, until, (p) => `r.value > ${p.add(40, '::float8')}`);
    expect(q.text).toBe(`SELECT count(*)::int AS n,
       string_agg(int4send(r.series_id) || timestamptz_send(r.time) || float8send(r.value), ''::bytea) FILTER (WHERE r.value > $4::float8) AS readings
  FROM iotctl.points r
 WHERE r.series_id = ANY($1::int[]) AND r.time >= $2::timestamptz AND r.time < $3::timestamptz`);
    expect(q.values).toEqual([[3], since, until, 40]);
  });
});

describe('split', () => {
  /** What int4send, timestamptz_send and float8send return: big-endian; microseconds since 2000-01-01. */
  function pack(readings: Array<[number, string, number]>): Buffer {
    const b = Buffer.alloc(20 * readings.length);
    readings.forEach(([id, iso, value], i) => {
      b.writeInt32BE(id, 20 * i);
      b.writeBigInt64BE(BigInt(Date.parse(iso) - Date.UTC(2000, 0, 1)) * 1000n, 20 * i + 4);
      b.writeDoubleBE(value, 20 * i + 12);
    });
    return b;
  }

  it('unpacks the readings, splits them by series and merges the runs parallel workers read in', () => {
    // Series 7 comes in two runs (two workers); series 2 in order; 1999 is before the PostgreSQL epoch.
    const packed = pack([
      [7, '2026-01-05T06:00:02Z', 3.5],
      [2, '2026-01-05T06:00:00Z', 20],
      [7, '2026-01-05T06:00:04Z', 4],
      [7, '1999-12-31T23:59:59Z', 1e300],
      [2, '2026-01-05T06:00:01Z', 21],
      [7, '2026-01-05T06:00:03Z', -1],
    ]);
    // A view into a larger buffer, as the drivers hand them out.
    const shifted = new Uint8Array(packed.length + 3);
    shifted.set(packed, 3);
    const out = split(shifted.subarray(3));
    const iso = (ms: number) => new Date(ms).toISOString();
    expect(out.map((s) => [s.id, [...s.times].map(iso), [...s.values]])).toEqual([
      [
        7,
        [
          '1999-12-31T23:59:59.000Z',
          '2026-01-05T06:00:02.000Z',
          '2026-01-05T06:00:03.000Z',
          '2026-01-05T06:00:04.000Z',
        ],
        [1e300, 3.5, -1, 4],
      ],
      [2, ['2026-01-05T06:00:00.000Z', '2026-01-05T06:00:01.000Z'], [20, 21]],
    ]);
  });
});
