// The pieces of `query agg --format csv` through COPY that need no database: parameters written in as
// literals (COPY takes none), and COPY's text escapes undone across chunk boundaries.
import { describe, expect, it } from 'vitest';
import { unescapeCopyText } from '../../src/db/copy-text.js';
import { inlineParams } from '../../src/db/sql/agg-lines.js';

async function collect(chunks: Buffer[]): Promise<string> {
  const out: Buffer[] = [];
  for await (const c of unescapeCopyText(
    (async function* () {
      yield* chunks;
    })(),
  ))
    out.push(c);
  return Buffer.concat(out).toString('utf8');
}

describe('inlineParams', () => {
  it('writes each placeholder as a literal before its cast, and leaves quoted text alone', () => {
    const sql = inlineParams({
      text: `SELECT $1::int[], $2::timestamptz, '$1 it''s' AS "$2", $3::text[], $10::float8[], $4::text[]`,
      values: [[1, 2], new Date(0), ["o'k", 'a\\b'], [], 5, 6, 7, 8, 9, [0.5]],
    });
    expect(sql).toBe(
      `SELECT ARRAY['1', '2']::int[], '1970-01-01T00:00:00.000Z'::timestamptz, '$1 it''s' AS "$2", ARRAY['o''k', 'a\\b']::text[], ARRAY['0.5']::float8[], '{}'::text[]`,
    );
  });

  it('refuses a placeholder without a value', () => {
    expect(() => inlineParams({ text: 'SELECT $2::int', values: [1] })).toThrow(/no value for \$2/);
  });
});

describe('unescapeCopyText', () => {
  it('passes chunks without a backslash as they are', async () => {
    expect(await collect([Buffer.from('a,b\n'), Buffer.from('ü,c\n')])).toBe('a,b\nü,c\n');
  });

  it('undoes every escape, also one split between two chunks', async () => {
    const chunks = [Buffer.from('x\\\\y\\'), Buffer.from('nz\\t\\r\\b\\f\\v\n')];
    expect(await collect(chunks)).toBe('x\\y\nz\t\r\b\f\v\n');
  });

  it('refuses an escape COPY does not write', async () => {
    await expect(collect([Buffer.from('a\\q\n')])).rejects.toThrow(/unexpected escape/);
  });
});
