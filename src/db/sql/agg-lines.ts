// `query agg --format csv` formatted by the database: each row as one CSV line of text, written out by COPY
// byte for byte as the client's CSV printer writes it (times as toISOString, numbers as JavaScript's String).
import type { Sql } from '../types.js';
import { literal } from './ident.js';

/** Where toISOString writes four-digit years as to_char's YYYY does, in ms, [from, to) (outside: ±YYYYYY, BC). */
export const LINE_TIME_RANGE = {
  from: Date.parse('0001-01-01T00:00:00Z'),
  to: Date.parse('+010000-01-01T00:00:00Z'),
};

/**
 * Date.prototype.toISOString of a timestamptz (UTC, milliseconds, `Z`), for years 1 to 9999, given its text
 * output under TimeZone UTC and DateStyle ISO (`2026-01-05 10:00:00+00`): rearranged where it has whole
 * seconds (cheaper than to_char, which does the rest).
 */
export function isoTimeText(column: string, text: string): string {
  return `CASE WHEN length(${text}) = 22 THEN replace(left(${text}, 19), ' ', 'T') || '.000Z'
  ELSE to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') END`;
}

/** The settings isoTimeText and jsNumberText need, for the transaction of the COPY. */
export const LINE_SETTINGS = [
  "SET LOCAL TimeZone = 'UTC'",
  "SET LOCAL DateStyle = 'ISO, MDY'",
  // The shortest exact digits of a float8, as the row path reads them (a server may be set to fewer).
  'SET LOCAL extra_float_digits = 1',
];

/**
 * JavaScript's String(x) of `text`, the float8 or bigint output of a value (with extra_float_digits >= 1,
 * so float8 text is the shortest exact form, the digits JavaScript prints too), or '' for NULL. PostgreSQL
 * writes an exponent below 1e-4 and from 1e15 (`1.5e-07`, `1e+15`), JavaScript below 1e-6 and from 1e21
 * (`1.5e-7`, `1e+21`); negative zero is `-0` there and `0` here. NaN and ±Infinity are spelt alike.
 */
export function jsNumberText(text: string): string {
  return `CASE WHEN ${text} IS NULL THEN ''
  WHEN strpos(${text}, 'e') = 0 THEN CASE WHEN ${text} = '-0' THEN '0' ELSE ${text} END
  WHEN split_part(${text}, 'e', 2)::int BETWEEN -6 AND 20 THEN ${text}::numeric::text
  ELSE regexp_replace(${text}, 'e([+-])0*', 'e\\1') END`;
}

function literalOf(value: unknown): string {
  if (value instanceof Date) return literal(value.toISOString());
  if (typeof value === 'number' || typeof value === 'string') return literal(String(value));
  if (Array.isArray(value)) return `ARRAY[${value.map(literalOf).join(', ')}]`;
  throw new Error(`no literal for ${typeof value}`);
}

/**
 * The statement with its parameters written in as literals, for COPY (which takes none). Every placeholder
 * of the statement builders carries a cast (`$1::int[]`), which then applies to the literal; text inside
 * quotes is left alone.
 */
export function inlineParams(sql: Sql): string {
  const values = sql.values ?? [];
  let out = '';
  let i = 0;
  const text = sql.text;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw new Error('unterminated quote in SQL');
      out += text.slice(i, end + 1);
      i = end + 1;
      continue;
    }
    const m = c === '$' ? /^\$(\d+)/.exec(text.slice(i, i + 12)) : null;
    if (m) {
      const n = Number(m[1]);
      if (n < 1 || n > values.length) throw new Error(`no value for $${n}`);
      const v = values[n - 1];
      // An empty ARRAY[] has no type: the cast after it gives it one, but it must be written '{}'.
      out += Array.isArray(v) && v.length === 0 ? `'{}'` : literalOf(v);
      i += m[0].length;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}
