// The slice statement as the scorer reads it: readingsSlice's packed columns as base64 text, which the
// client turns back into the bytes split() unpacks.
import { describe, expect, it } from 'vitest';
import { split } from '../../src/anomalies/stream.js';
import { readingsSlice, readingsSliceBase64 } from '../../src/db/sql/anomalies.js';

const since = new Date('2026-01-01T00:00:00Z');
const until = new Date('2026-01-02T00:00:00Z');

describe('readingsSliceBase64', () => {
  it('wraps readingsSlice, encoding each packed column as base64, with the same parameters', () => {
    const candidates = (p: { add: (v: unknown, cast: string) => string }) =>
      `r.value > ${p.add(40, '::float8')}`;
    const inner = readingsSlice([3], since, until, candidates);
    const q = readingsSliceBase64([3], since, until, candidates);
    expect(q.text).toBe(`SELECT s.n, encode(s.ids, 'base64') AS ids, encode(s.times, 'base64') AS times,
       encode(s.vals, 'base64') AS vals
  FROM (${inner.text}) s`);
    expect(q.values).toEqual([[3], since, until, 40]);
  });

  it("decodes as PostgreSQL's encode writes it (a newline every 76 characters)", () => {
    const ids = Buffer.alloc(4 * 40);
    const times = Buffer.alloc(8 * 40);
    const vals = Buffer.alloc(8 * 40);
    for (let i = 0; i < 40; i++) {
      ids.writeInt32BE(9, 4 * i);
      times.writeBigInt64BE(BigInt(i) * 1_000_000n, 8 * i);
      vals.writeDoubleBE(i / 3, 8 * i);
    }
    const wrapped = (b: Buffer) => (b.toString('base64').match(/.{1,76}/g) as string[]).join('\n');
    const decoded = (b: Buffer) => Buffer.from(wrapped(b), 'base64');
    const [s] = split(decoded(ids), decoded(times), decoded(vals));
    expect(s?.id).toBe(9);
    expect([...(s?.values ?? [])]).toEqual(Array.from({ length: 40 }, (_, i) => i / 3));
    expect(s?.times[39]).toBe(Date.UTC(2000, 0, 1) + 39_000);
  });
});
