// The slice statement as the scorer reads it: readingsSlice's packed readings as COPY binary on a server
// (their bytes as they are) or as base64 text elsewhere, which the client turns back into the bytes
// split() unpacks.
import { describe, expect, it } from 'vitest';
import { split } from '../../src/anomalies/stream.js';
import { copyBinaryRow } from '../../src/db/copy-binary.js';
import { packedBase64, packedCopy, readingsSlice } from '../../src/db/sql/anomalies.js';

const since = new Date('2026-01-01T00:00:00Z');
const until = new Date('2026-01-02T00:00:00Z');
const candidates = (p: { add: (v: unknown, cast: string) => string }) => `r.value > ${p.add(40, '::float8')}`;

describe('packedBase64', () => {
  it('wraps readingsSlice, encoding the packed readings as base64, with the same parameters', () => {
    const inner = readingsSlice([3], since, until, candidates);
    const q = packedBase64(inner);
    expect(q.text).toBe(`SELECT s.n, encode(s.readings, 'base64') AS readings FROM (${inner.text}) s`);
    expect(q.values).toEqual([[3], since, until, 40]);
  });

  it("decodes as PostgreSQL's encode writes it (a newline every 76 characters)", () => {
    const packed = Buffer.alloc(20 * 40);
    for (let i = 0; i < 40; i++) {
      packed.writeInt32BE(9, 20 * i);
      packed.writeBigInt64BE(BigInt(i) * 1_000_000n, 20 * i + 4);
      packed.writeDoubleBE(i / 3, 20 * i + 12);
    }
    const wrapped = (packed.toString('base64').match(/.{1,76}/g) as string[]).join('\n');
    const [s] = split(Buffer.from(wrapped, 'base64'));
    expect(s?.id).toBe(9);
    expect([...(s?.values ?? [])]).toEqual(Array.from({ length: 40 }, (_, i) => i / 3));
    expect(s?.times[39]).toBe(Date.UTC(2000, 0, 1) + 39_000);
  });
});

describe('packedCopy', () => {
  it('is readingsSlice as COPY binary, its parameters written in as literals with their casts', () => {
    expect(packedCopy(readingsSlice([3, 5], since, until, candidates))).toBe(`COPY (SELECT count(*)::int AS n,
       string_agg(int4send(r.series_id) || timestamptz_send(r.time) || float8send(r.value), ''::bytea) FILTER (WHERE r.value > '40'::float8) AS readings
  FROM iotctl.points r
 WHERE r.series_id = ANY(ARRAY['3', '5']::int[]) AND r.time >= '2026-01-01T00:00:00.000Z'::timestamptz AND r.time < '2026-01-02T00:00:00.000Z'::timestamptz) TO STDOUT (FORMAT binary)`);
  });
});

describe('copyBinaryRow', () => {
  /** COPY ... (FORMAT binary) output as PostgreSQL writes it, with `ext` bytes of header extension. */
  function copyOutput(fields: Array<Buffer | null>, ext = 0, rows = 1): Buffer {
    const head = Buffer.alloc(19 + ext);
    head.write('PGCOPY\n\xff\r\n\0', 0, 'latin1');
    head.writeInt32BE(0, 11);
    head.writeInt32BE(ext, 15);
    const parts: Buffer[] = [head];
    for (let r = 0; r < rows; r++) {
      const count = Buffer.alloc(2);
      count.writeInt16BE(fields.length);
      parts.push(count);
      for (const f of fields) {
        const len = Buffer.alloc(4);
        len.writeInt32BE(f ? f.length : -1);
        parts.push(len, ...(f ? [f] : []));
      }
    }
    const trailer = Buffer.alloc(2);
    trailer.writeInt16BE(-1);
    parts.push(trailer);
    return Buffer.concat(parts);
  }

  it('gives each field of the one row as its bytes, NULL as null, past a header extension', () => {
    const n = Buffer.alloc(4);
    n.writeInt32BE(2);
    const ids = Buffer.from([0, 0, 0, 7, 0, 0, 0, 8]);
    const fields = copyBinaryRow(copyOutput([n, ids, null, Buffer.alloc(0)], 5), 4);
    expect(fields.map((f) => (f === null ? null : [...f]))).toEqual([[0, 0, 0, 2], [...ids], null, []]);
  });

  it('refuses what is not one row of that many fields', () => {
    expect(() => copyBinaryRow(Buffer.from('n\tids\n'), 1)).toThrow('not COPY binary output');
    expect(() => copyBinaryRow(copyOutput([null, null]), 4)).toThrow('2 fields, expected 4');
    expect(() => copyBinaryRow(copyOutput([null], 0, 2), 1)).toThrow('more than one row');
  });
});
