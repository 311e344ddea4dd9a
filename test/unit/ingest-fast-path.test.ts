// The long CSV format's fast path (formats/csv.ts, longFastPath) must give exactly the sink calls the mapper
// gives: the same readings (device, metric, time, value, unit, tags), rejects, nulls and events, in the same
// order, for lines built to tell them apart. Each case reads the same lines twice: as the record stream gives
// them (lines with no quote carry their delimiter, so the fast path takes them) and with the delimiter taken
// away (every line through the mapper).
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { csv } from '../../src/ingest/formats/csv.js';
import { Validator, type MapOptions, type MapSink } from '../../src/ingest/mapping.js';
import { parseRanges, parseTags, parseUnits } from '../../src/ingest/options.js';
import { csvRecordStream, type InputRecord } from '../../src/ingest/parse.js';
import { mapOptions } from '../helpers/ingest.js';

async function records(text: string, sep: string): Promise<InputRecord[]> {
  const out: InputRecord[] = [];
  for await (const chunk of Readable.from([Buffer.from(text)]).pipe(csvRecordStream(sep)))
    out.push(...(chunk as InputRecord[]));
  return out;
}

/** Every sink call, with every argument, in order. */
function mapAll(recs: InputRecord[], over: Partial<MapOptions>): unknown[][] {
  const validator = new Validator(mapOptions(over));
  const reader = csv.reader({
    mapping: validator.opts,
    validator,
    describe: () => undefined,
    timeSource: () => undefined,
  });
  const calls: unknown[][] = [];
  const sink: MapSink = {
    reading: (...args) => calls.push(['reading', ...args]),
    event: (...args) => calls.push(['event', ...args]),
    reject: (...args) => calls.push(['reject', ...args]),
    nulls: (n) => calls.push(['nulls', n]),
  };
  for (const rec of recs) reader.read(rec, sink);
  return calls;
}

/** The same records without their delimiter: the fast path never sees them. */
const throughMapper = (recs: InputRecord[]): InputRecord[] =>
  recs.map((r) => ({ line: r.line, raw: r.raw, fields: r.fields, error: r.error, bytes: r.bytes }));

async function bothPaths(text: string, over: Partial<MapOptions> = {}, sep = ',') {
  const recs = await records(text, sep);
  const fast = mapAll(recs, over);
  const slow = mapAll(throughMapper(recs), over);
  return { fast, slow, plain: recs.filter((r) => r.sep !== undefined).length };
}

/** A small seeded generator (the cases are the same on every run). */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const VALUES = [
  '25.82',
  '-3.5',
  '0',
  '-0',
  '007',
  '12',
  '1e3',
  '1E-2',
  '0x1A',
  '0b11',
  '.5',
  '5.',
  '-.5',
  '+5',
  ' 5',
  '5 ',
  '2,5',
  'NaN',
  'Infinity',
  '-inf',
  'warm',
  '',
  'NA',
  'null',
  '-999',
  '-999.0',
  '-',
  '123456789012345',
  '1234567890123456',
  '0.000000000000001',
  '99.999999999999',
  '-1.7976931348623157e308',
  '1e400',
  '4.9e-324',
  '0.1',
  '0.30000000000000004',
  '9007199254740993',
  '150',
  '-40.5',
  '1.2.3',
  '--5',
  '5-',
  '١٢',
];
const TIMES = [
  '2024-01-01T00:00:00.000Z',
  '2024-01-01T00:00:10.000Z',
  '2024-01-01T00:00:10.000Z',
  '2024-01-01 00:00:20',
  ' 2024-01-01T00:00:30Z',
  'soon',
  '',
  '1704067200',
  '2999-01-01T00:00:00Z',
  '0000-12-31T00:00:00Z',
  '2024-01-01T00:00:40+01:00',
];
const DEVICES = ['dev-1', 'dev-2', ' dev-3 ', '', 'dev-\uFFFD', 'd\u0000x', 'x'.repeat(400), 'dev-1'];
const METRICS = ['temp', 'hum', 'temp', ' temp', '', 'label', 'p'];

function lines(n: number, seed: number, sep = ','): string {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const out = [['time', 'device_id', 'metric', 'value'].join(sep)];
  for (let i = 0; i < n; i++) {
    // Mostly ordinary rows of a few series (the fast path's case), some odd ones.
    const odd = r() < 0.3;
    const time = odd ? pick(TIMES) : TIMES[Math.floor(i / 7) % 3]!;
    const device = odd ? pick(DEVICES) : pick(DEVICES.slice(0, 2));
    const metric = odd ? pick(METRICS) : pick(METRICS.slice(0, 2));
    const value = odd ? pick(VALUES) : (r() * 200 - 100).toFixed(Math.floor(r() * 4));
    let row = [time, device, metric, value].join(sep);
    const shape = r();
    if (shape < 0.03) row += sep;
    else if (shape < 0.05) row += sep + 'extra';
    else if (shape < 0.07) row = [time, device, metric].join(sep);
    else if (shape < 0.08) row = sep.repeat(3);
    else if (shape < 0.09) row = `"${time}"${sep}${device}${sep}${metric}${sep}${value}`;
    out.push(row);
  }
  return out.join('\n') + '\n';
}

describe('the long CSV fast path', () => {
  const settings: Array<[string, Partial<MapOptions>]> = [
    ['defaults', {}],
    ['--null markers, one a minus sign and -0', { nulls: ['-999', '-0', 'n/a'] }],
    ['--null -0 alone (no --null number)', { nulls: ['-0'] }],
    ['a --null marker starting with a digit', { nulls: ['12'] }],
    ['--range', { ranges: parseRanges(['temp=-50:50', 'hum=0:100']) }],
    ['events', { events: true, textMetrics: ['label'] }],
    ['--unit and --tag', { units: parseUnits(['temp=C', 'kPa']), tags: parseTags(['site=a']) }],
    ['--max-future 0', { maxFutureMs: 0 }],
  ];
  for (const [name, over] of settings) {
    it(`gives the mapper's sink calls, with ${name}`, async () => {
      for (const seed of [1, 2, 3]) {
        const { fast, slow, plain } = await bothPaths(lines(3000, seed), over);
        expect(plain).toBeGreaterThan(2500);
        expect(fast).toEqual(slow);
        expect(fast.filter((c) => c[0] === 'reading').length).toBeGreaterThan(1000);
      }
    });
  }

  it('is taken: most ordinary rows do not reach the mapper', async () => {
    // A mapper that throws once learning is done shows which rows reached it.
    const text = lines(2000, 7)
      .split('\n')
      .slice(0, 1)
      .concat(
        Array.from(
          { length: 2000 },
          (_, i) => `2024-01-01T00:00:${String(i % 60).padStart(2, '0')}Z,dev-${i % 5},m${i % 3},${i}.5`,
        ),
      );
    const recs = await records(text.join('\n') + '\n', ',');
    let splits = 0;
    const counted = recs.map((r) =>
      r.sep === undefined
        ? r
        : Object.defineProperty({ line: r.line, raw: r.raw, sep: r.sep }, 'fields', {
            get: () => (splits++, r.fields),
          }),
    );
    const calls = mapAll(counted as InputRecord[], {});
    expect(calls.filter((c) => c[0] === 'reading')).toHaveLength(2000);
    // The header, and one row of each of the 15 series before the fast path knows it.
    expect(splits).toBe(16);
  });

  it('rejects a line with U+FFFD in a column it does not read, as the mapper does', async () => {
    const text = lines(2000, 14)
      .split('\n')
      .map((l, i) =>
        i === 0 ? l + ',note' : l.split(',').length === 4 ? l + (i % 10 ? ',ok' : ',bad\uFFFD') : l,
      )
      .join('\n');
    const { fast, slow } = await bothPaths(text);
    expect(fast).toEqual(slow);
    expect(fast.filter((c) => c[0] === 'reject' && c[1] === 'invalid_utf8').length).toBeGreaterThan(100);
  });

  it('reads other delimiters and column orders, and a constant --device', async () => {
    const semi = lines(2000, 11, ';');
    const a = await bothPaths(semi, {}, ';');
    expect(a.fast).toEqual(a.slow);
    const reordered = lines(2000, 12)
      .split('\n')
      .map((l) => {
        const f = l.split(',');
        return f.length === 4 ? [f[3], f[2], f[1], f[0]].join(',') : l;
      })
      .join('\n');
    const b = await bothPaths(reordered);
    expect(b.fast).toEqual(b.slow);
    expect(b.fast.filter((c) => c[0] === 'reading').length).toBeGreaterThan(500);
    const constant = lines(2000, 13)
      .split('\n')
      .map((l) => {
        const f = l.split(',');
        return f.length === 4 ? [f[0], f[2], f[3]].join(',') : l;
      })
      .join('\n');
    const c = await bothPaths(constant, { device: 'pump-7' });
    expect(c.fast).toEqual(c.slow);
    expect(c.fast.filter((x) => x[0] === 'reading').length).toBeGreaterThan(500);
  });
});

describe('Validator.plainNumberIn', () => {
  it('reads plain decimals in place as Number() does, and the rest as plainNumber does', () => {
    const v = new Validator(mapOptions());
    const r = prng(5);
    const texts = [...VALUES];
    for (let i = 0; i < 20000; i++) {
      const digits = 1 + Math.floor(r() * 17);
      let t = '';
      for (let k = 0; k < digits; k++) t += Math.floor(r() * 10);
      const dot = Math.floor(r() * (digits + 2)) - 1;
      if (dot > 0 && dot < digits) t = t.slice(0, dot) + '.' + t.slice(dot);
      texts.push(r() < 0.5 ? '-' + t : t);
    }
    for (const t of texts) {
      const line = `x,${t},y`;
      const got = v.plainNumberIn(line, 2, 2 + t.length, 'm');
      expect(Object.is(got, v.plainNumber(t, 'm')), t).toBe(true);
    }
  });
});
