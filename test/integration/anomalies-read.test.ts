// How `iotctl anomalies` reads its readings on each target: a slice through COPY binary on a server and
// as base64 text on the embedded database, both giving the readings the server packed, and readSlices
// giving every reading of every series once, in time order, whichever way it came.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packedRow, readSlices, split, type SeriesSlice } from '../../src/anomalies/stream.js';
import { packedBase64, readingsSlice } from '../../src/db/sql/anomalies.js';
import type { Db } from '../../src/db/types.js';
import { makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';
import { addSeries, at, initStore } from './query-data.js';

describe.each(targetKinds)('reading slices on the %s target', (kind) => {
  let target: TestTarget;
  let db: Db;
  let ids: number[];
  beforeAll(async () => {
    target = await makeTarget(kind);
    db = await target.open();
    const store = await initStore(db);
    // Values text would not carry exactly: thirds, the smallest normal double, -0, a large offset.
    await addSeries(db, store, {
      device: 'a',
      metric: 'v',
      first: 0,
      last: 2999,
      valueSql: 'i / 3.0::float8',
    });
    await addSeries(db, store, {
      device: 'b',
      metric: 'v',
      first: 0,
      last: 2999,
      valueSql: `CASE i % 3 WHEN 0 THEN 2.2250738585072014e-308 WHEN 1 THEN '-0'::float8 ELSE 1e15 + i END`,
      skip: 'i % 7 = 0',
    });
    ids = (await db.query<{ id: number }>('SELECT id FROM iotctl.series ORDER BY device_id')).rows.map(
      (r) => r.id,
    );
  });
  afterAll(async () => {
    await db?.close();
    await target?.cleanup();
  });

  it('a slice comes as the readings the server packed (COPY binary on a server, base64 text elsewhere)', async () => {
    const q = readingsSlice(ids, at(100), at(2100));
    const row = await packedRow(db, q);
    const text = (await db.query<Record<string, string | number>>(packedBase64(q))).rows[0]!;
    expect(row.n).toBe(text.n);
    expect(row.n).toBe(2000 + 2000 - (Math.floor(2099 / 7) - Math.floor(99 / 7)));
    // The same readings of each series (on Citus the shards' parts may come in another order each time).
    const bySeries = (slices: SeriesSlice[]) =>
      Object.fromEntries(slices.map((s) => [s.id, { times: [...s.times], values: [...s.values] }]));
    expect(bySeries(split(row.readings!))).toEqual(
      bySeries(split(Buffer.from(text.readings as string, 'base64'))),
    );
    const empty = await packedRow(db, readingsSlice(ids, at(5000), at(6000)));
    expect(empty).toEqual({ n: 0, readings: null });
  });

  it('readSlices gives every reading once, each series in time order, values exact', async () => {
    const seen = new Map<number, { times: number[]; values: number[] }>();
    let counted = 0;
    for await (const slice of readSlices(db, ids, at(0).getTime(), at(3000).getTime(), {
      counted: (n) => (counted += n),
    })) {
      for (const s of slice) {
        const all = seen.get(s.id) ?? { times: [], values: [] };
        all.times.push(...s.times);
        all.values.push(...s.values);
        seen.set(s.id, all);
      }
    }
    const [a, b] = ids.map((id) => seen.get(id)!);
    expect(a!.times).toEqual(Array.from({ length: 3000 }, (_, i) => at(i).getTime()));
    expect(a!.values).toEqual(Array.from({ length: 3000 }, (_, i) => i / 3));
    const kept = Array.from({ length: 3000 }, (_, i) => i).filter((i) => i % 7 !== 0);
    expect(b!.times).toEqual(kept.map((i) => at(i).getTime()));
    expect(b!.values.map((v) => (Object.is(v, -0) ? '-0' : v))).toEqual(
      kept.map((i) => (i % 3 === 0 ? 2.2250738585072014e-308 : i % 3 === 1 ? '-0' : 1e15 + i)),
    );
    expect(counted).toBe(3000 + kept.length);
  });
});
