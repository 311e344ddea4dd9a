import { afterEach, describe, expect, it, vi } from 'vitest';
import { csvMapper } from '../../src/ingest/formats/csv.js';
import { ndjsonMapper } from '../../src/ingest/formats/ndjson.js';
import { telegrafMapper } from '../../src/ingest/formats/telegraf.js';
import { SERIES_LIMITS, Validator, type MapSink } from '../../src/ingest/mapping.js';
import { parseMap, parseMaxErrors, parseRanges, parseTags, parseUnits } from '../../src/ingest/options.js';
import { mapOptions } from '../helpers/ingest.js';

const opts = mapOptions;

function recorder() {
  const out = {
    readings: [] as unknown[][],
    events: [] as unknown[][],
    rejects: [] as unknown[][],
    nulls: 0,
  };
  const sink: MapSink = {
    reading: (device, metric, us, value) => out.readings.push([device, metric, us, value]),
    event: (device, metric, us, value, level, payload) =>
      out.events.push([device, metric, us, value, level, payload]),
    reject: (reason, detail, count) => out.rejects.push([reason, detail, count]),
    nulls: (n) => (out.nulls += n),
  };
  return { out, sink };
}

describe('ingest mapping and validation', () => {
  it('reads numbers with decimal commas and rejects NaN, infinities and text', () => {
    const v = new Validator(opts());
    expect(v.number(' 2,6 ')).toBe(2.6);
    expect(v.number('-1.5e3')).toBe(-1500);
    expect(v.number('NaN')).toBe('not_finite');
    expect(v.number('-Infinity')).toBe('not_finite');
    expect(v.number('warm')).toBe('bad_value');
  });

  it('treats empty, NA, null and --null markers (numerically) as no reading', () => {
    const v = new Validator(opts({ nulls: ['-200'] }));
    for (const t of ['', ' ', 'NA', 'null', '-200', '-200,0']) expect(v.isNull(t), t).toBe(true);
    expect(v.isNull('0')).toBe(false);
    expect(v.isNull('-20')).toBe(false);
    // Values starting with a digit skip the marker lookup unless a marker starts with one too.
    const plain = new Validator(opts());
    for (const t of ['12.5', '0', '7e3']) expect(plain.isNull(t), t).toBe(false);
    expect(plain.isNull('NA')).toBe(true);
    const digits = new Validator(opts({ nulls: ['9x9', '9999'] }));
    for (const t of ['9x9', '9X9 ', '9999', '9999.0']) expect(digits.isNull(t), t).toBe(true);
    expect(digits.isNull('99')).toBe(false);
  });

  it('maps header aliases and --map in long files', () => {
    const v = new Validator(opts({ map: { value: 'reading_v' } }));
    const { mapper } = csvMapper(['ts', 'sensor_id', 'name', 'reading_v'], [], v.opts, v);
    const { out, sink } = recorder();
    mapper(['1709287200', 's1', 'temp', '4,5'], '', sink);
    expect(out.readings).toEqual([['s1', 'temp', 1709287200e6, 4.5]]);
    expect(() =>
      csvMapper(['ts', 'sensor_id', 'x'], [], new Validator(opts({ map: { value: 'nope' } })).opts, v),
    ).toThrow(/--map value=nope: no such column/);
  });

  it('wide rows: a bad time rejects the row as one reading per metric column', () => {
    const v = new Validator(opts({ device: 'd' }));
    const { mapper } = csvMapper(
      ['time', 'a', 'b', 'label'],
      ['2024-01-01T00:00:00Z', '1', '2', 'x'],
      v.opts,
      v,
    );
    const { out, sink } = recorder();
    mapper(['soon', '1', '2', 'x'], '', sink);
    mapper(['2024-01-01T00:00:00Z', 'NA', 'oops', 'x'], '', sink);
    expect(out.rejects).toEqual([
      ['bad_time', "cannot read time 'soon'", 2],
      ['bad_value', 'b: not a number: oops', 1],
    ]);
    expect(out.nulls).toBe(1);
  });

  it('rejects times beyond --max-future and values outside --range', () => {
    const v = new Validator(opts({ device: 'd', ranges: parseRanges(['t=-40:85']) }));
    const { mapper } = csvMapper(['time', 'metric', 'value'], [], v.opts, v);
    const { out, sink } = recorder();
    mapper([new Date(Date.now() + 7_200_000).toISOString(), 't', '1'], '', sink);
    mapper(['2024-01-01T00:00:00Z', 't', '90'], '', sink);
    expect(out.rejects.map((r) => r[0])).toEqual(['future_time', 'out_of_range']);
  });

  describe('--max-future follows the clock', () => {
    afterEach(() => vi.useRealTimers());
    it('a long-running ingest still accepts live readings hours after it started', () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(new Date('2024-06-01T00:00:00Z'));
      const v = new Validator(opts());
      vi.setSystemTime(new Date('2024-06-01T05:00:00Z'));
      const at = (t: string) => v.timeProblem(Date.parse(t) * 1000, t)?.[0] ?? null;
      expect(at('2024-06-01T05:00:00Z')).toBeNull();
      expect(at('2024-06-01T05:59:00Z')).toBeNull();
      expect(at('2024-06-01T06:01:00Z')).toBe('future_time');
    });
  });

  it('rejects a NUL in device, metric or tags as invalid_utf8 (PostgreSQL would abort the load)', () => {
    const v = new Validator(opts());
    const { mapper } = csvMapper(['time', 'device', 'metric', 'value', 'tags'], [], v.opts, v);
    const { out, sink } = recorder();
    const t = '2024-01-01T00:00:00Z';
    mapper([t, 'd\0x', 'm', '1', ''], '', sink);
    mapper([t, 'd', 'm\0', '1', ''], '', sink);
    mapper([t, 'd', 'm', '1', '{"a":"b\\u0000"}'], '', sink);
    mapper([t, 'd', 'm', '1', '{"a":"b"}'], '', sink);
    const withUnit = csvMapper(['time', 'device', 'metric', 'value', 'unit'], [], v.opts, v).mapper;
    withUnit([t, 'd', 'm', '1', 'k\0g'], '', sink);
    const nd = ndjsonMapper(v.opts, v);
    nd([], '{"time":"2024-01-01T00:00:00Z","device":"d\\u0000","metric":"m","value":1}', sink);
    nd(
      [],
      '{"time":"2024-01-01T00:00:00Z","device":"d","metric":"m","value":1,"tags":{"k":"\\u0000"}}',
      sink,
    );
    expect(out.rejects.map((r) => [r[0], r[2]])).toEqual(Array(6).fill(['invalid_utf8', 1]));
    expect(out.readings).toEqual([['d', 'm', Date.parse(t) * 1000, 1]]);
  });

  it('NDJSON: bad JSON is a rejected row, JSON null a skipped reading', () => {
    const v = new Validator(opts());
    const mapper = ndjsonMapper(v.opts, v);
    const { out, sink } = recorder();
    mapper([], '{"time": 1', sink);
    mapper([], '[1,2]', sink);
    mapper([], '{"time":"2024-01-01T00:00:00Z","device":"d","metric":"m","value":null}', sink);
    expect(out.rejects.map((r) => r[0])).toEqual(['bad_json', 'bad_json']);
    expect(out.nulls).toBe(1);
  });

  it('parses --max-errors, --range and --map', () => {
    expect(parseMaxErrors('10')).toEqual({ count: 10 });
    expect(parseMaxErrors('2.5%')).toEqual({ percent: 2.5 });
    expect(() => parseMaxErrors('many')).toThrow(/invalid --max-errors/);
    expect(parseRanges(['rh=0:', 'pm2.5=:1000']).get('pm2.5')).toEqual({ min: -Infinity, max: 1000 });
    expect(() => parseRanges(['rh'])).toThrow(/invalid --range/);
    expect(parseMap(['device_id=station'])).toEqual({ device_id: 'station' });
    expect(() => parseMap(['colour=x'])).toThrow(/invalid --map/);
  });

  it('NDJSON 1e400 is rejected as not finite with a detail that says why, not "null"', () => {
    const v = new Validator(opts());
    const nd = ndjsonMapper(v.opts, v);
    const { out, sink } = recorder();
    nd([], '{"time":"2024-01-01T00:00:00Z","device":"d","metric":"m","value":1e400}', sink);
    nd([], '{"time":"2024-01-01T00:00:00Z","device":"d","t":-1e400}', sink);
    expect(out.rejects).toEqual([
      ['not_finite', 'm: not a finite number: Infinity (beyond ±1.8e308)', 1],
      ['not_finite', 't: not a finite number: -Infinity (beyond ±1.8e308)', 1],
    ]);
  });

  it('device ids, metrics, units and tags too long for the series index are rejected too_long', () => {
    const v = new Validator(opts());
    const { mapper } = csvMapper(['time', 'device', 'metric', 'value', 'unit', 'tags'], [], v.opts, v);
    const { out, sink } = recorder();
    const t = '2024-01-01T00:00:00Z';
    const long = (n: number) => 'x'.repeat(n);
    mapper([t, long(SERIES_LIMITS.device), long(SERIES_LIMITS.metric), '1', long(256), ''], '', sink);
    mapper([t, long(SERIES_LIMITS.device + 1), 'm', '1', '', ''], '', sink);
    // Bytes, not characters: 342 three-byte characters are 1,026 bytes.
    mapper([t, 'd', '€'.repeat(342), '1', '', ''], '', sink);
    mapper([t, 'd', 'm', '1', long(SERIES_LIMITS.unit + 1), ''], '', sink);
    mapper([t, 'd', 'm', '1', '', JSON.stringify({ k: long(SERIES_LIMITS.tags) })], '', sink);
    mapper([t, 'd', 'm', '2', '', ''], '', sink);
    expect(out.readings.map((r) => r[3])).toEqual([1, 2]);
    expect(out.rejects).toEqual([
      ['too_long', 'm: the device id is 1025 bytes long (at most 1024)', 1],
      ['too_long', `${'€'.repeat(40)}…: the metric is 1026 bytes long (at most 1024)`, 1],
      ['too_long', 'm: the unit is 257 bytes long (at most 256)', 1],
      ['too_long', 'm: the tags are 65544 bytes long (at most 65536)', 1],
    ]);
  });

  it('lone surrogates and deep nesting, which PostgreSQL refuses in text and jsonb, are rejected per reading', () => {
    const v = new Validator(opts());
    const nd = ndjsonMapper(v.opts, v);
    const { out, sink } = recorder();
    const t = '"time":"2024-01-01T00:00:00Z"';
    nd([], `{${t},"device":"d\\ud800","metric":"m","value":1}`, sink);
    nd([], `{${t},"device":"d","metric":"m","value":1,"tags":{"k":"\\udc00"}}`, sink);
    nd([], `{${t},"device":"d","metric":"m","value":1,"tags":{"k":"\\ud83d\\ude00"}}`, sink);
    const deep = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    nd([], `{${t},"device":"d","metric":"m","value":2,"tags":${deep(100)}}`, sink);
    nd([], `{${t},"device":"d","metric":"m","value":2,"tags":${deep(100_000)}}`, sink);
    nd([], `{${t},"device":"d","x":${deep(100_000)}}`, sink);
    const arrays = '['.repeat(100_000) + ']'.repeat(100_000);
    nd([], `{${t},"device":"d","metric":"m","value":2,"tags":${arrays}}`, sink);
    const { mapper } = csvMapper(['time', 'device', 'metric', 'value', 'tags'], [], v.opts, v);
    mapper(['2024-01-01T00:00:00Z', 'd', 'm', '3', '{"k":"\\\\ud800 is text"}'], '', sink);
    mapper(['2024-01-01T00:00:00Z', 'd', 'm', '3', '{"k":"\\ud800"}'], '', sink);
    const tg = telegrafMapper(v.opts, v);
    tg(
      [],
      `{"name":"cpu","timestamp":1709287200,"fields":{"u":1},"tags":{"host":"h","x":${deep(100_000)}}}`,
      sink,
    );
    expect(out.readings.map((r) => [r[0], r[3]])).toEqual([
      ['d', 1],
      ['d', 3],
    ]);
    expect(out.rejects.map((r) => [r[0], r[2]])).toEqual([
      ['invalid_utf8', 1],
      ['invalid_utf8', 1],
      // Nested deeper than 64 levels: the line (tags are part of it), or tags nested in arrays.
      ['bad_json', 1],
      ['bad_json', 1],
      ['bad_json', 1],
      ['bad_tags', 1],
      ['invalid_utf8', 1],
      ['bad_tags', 1],
    ]);
  });

  it('wide NDJSON: every number of every object is a reading; text is a null, a counted reject or a label', () => {
    const v = new Validator(opts());
    const nd = ndjsonMapper(v.opts, v);
    const { out, sink } = recorder();
    const at = (m: number) => `"time":"2024-01-01T00:0${m}:00Z","device":"w"`;
    nd([], `{${at(0)},"temp":20,"hum":"n/a","site":"roof"}`, sink);
    nd([], `{${at(1)},"temp":21,"hum":40.1,"site":"roof"}`, sink);
    nd([], `{${at(2)},"temp":22,"hum":"oops","site":"roof"}`, sink);
    nd([], `{${at(3)},"rh":"bad"}`, sink);
    nd([], `{${at(4)},"rh":50}`, sink);
    nd([], `{${at(5)},"rh":"51,5","tags":{"site":"none"}}`, sink);
    expect(out.readings.map((r) => [r[1], r[3]])).toEqual([
      ['temp', 20],
      ['temp', 21],
      ['hum', 40.1],
      ['temp', 22],
      ['rh', 50],
      ['rh', 51.5],
    ]);
    expect(out.rejects).toEqual([
      ['bad_value', 'hum: not a number: oops', 1],
      ['missing_field', 'no numeric fields', 1],
    ]);
    expect(out.nulls).toBe(1);
  });

  it('0x1A, 0b11 and 0o7 are not numbers (JavaScript would read them as 26, 3 and 7)', () => {
    const v = new Validator(opts());
    for (const t of ['0x1A', '0X1a', '0b11', '0o7', '0B1', ' 0x10 '])
      expect(v.number(t), t).toBe('bad_value');
    expect(v.number('0')).toBe(0);
    expect(v.number('007')).toBe(7);
    expect(v.number('0.5')).toBe(0.5);
    expect(v.number('0e0')).toBe(0);
    expect(v.number('-0.25')).toBe(-0.25);
  });

  it('--unit metric=unit or a unit for every metric, --tag key=value: parsed, and refused when unusable', () => {
    expect(parseUnits(['temperature=°C', 'rh = %', 'K'])).toEqual({
      byMetric: new Map([
        ['temperature', '°C'],
        ['rh', '%'],
      ]),
      all: 'K',
    });
    for (const bad of ['', 'temp=', '=C', 'temp=' + 'x'.repeat(SERIES_LIMITS.unit + 1), 'temp=a\0b'])
      expect(() => parseUnits([bad]), bad).toThrow(/invalid --unit/);
    expect(parseTags(['site=plant-2', 'line=3', 'note='])).toEqual({ site: 'plant-2', line: '3', note: '' });
    for (const bad of ['site', '=x', 'a=\0']) expect(() => parseTags([bad]), bad).toThrow(/invalid --tag/);
    expect(() => parseTags(['a=' + 'x'.repeat(SERIES_LIMITS.tags)])).toThrow(/longer than/);
  });

  it('--unit and --tag fill in what a reading lacks; what the input gives wins', () => {
    const got: Array<[string, string | null, string | null]> = [];
    const sink: MapSink = {
      reading: (_d, metric, _us, _v, unit, tags) => void got.push([metric, unit, tags]),
      event: () => undefined,
      reject: () => undefined,
      nulls: () => undefined,
    };
    const v = new Validator(
      mapOptions({ units: { byMetric: new Map([['t', 'C']]), all: 'x' }, tags: { site: 'a', zone: 'z' } }),
    );
    v.emit(sink, 'd', 't', 0, '1', null, null);
    v.emit(sink, 'd', 'p', 0, '1', null, '{"site":"own"}');
    v.emit(sink, 'd', 't', 0, '1', 'K', '{"site":"own"}');
    expect(got).toEqual([
      ['t', 'C', '{"site":"a","zone":"z"}'],
      ['p', 'x', '{"site":"own","zone":"z"}'],
      ['t', 'K', '{"site":"own","zone":"z"}'],
    ]);
  });
});

describe('events: text and boolean values routed by metric', () => {
  it('long CSV: text is an event, a number a reading; text in a metric that held a number is rejected', () => {
    const v = new Validator(opts({ events: true }));
    const { mapper } = csvMapper(['time', 'device_id', 'metric', 'value'], [], v.opts, v);
    const { out, sink } = recorder();
    const row = (m: string, val: string) => mapper(['2024-01-01T00:00:00Z', 'd', m, val], '', sink);
    row('state', 'NA');
    row('state', 'ON');
    row('state', '1');
    row('temp', '20');
    row('temp', 'warm');
    expect(out.events.map((e) => [e[1], e[3]])).toEqual([['state', 'ON']]);
    expect(out.readings.map((r) => [r[1], r[3]])).toEqual([
      ['state', 1],
      ['temp', 20],
    ]);
    expect(out.rejects).toEqual([['bad_value', 'temp: not a number: warm', 1]]);
    expect(out.nulls).toBe(1);
  });

  it('without the events table (events off) a boolean is 1 or 0 and text a rejected reading, as before', () => {
    const v = new Validator(opts());
    const nd = ndjsonMapper(v.opts, v);
    const { out, sink } = recorder();
    nd([], '{"time":"2024-01-01T00:00:00Z","device":"d","metric":"on","value":true}', sink);
    nd([], '{"time":"2024-01-01T00:00:00Z","device":"d","metric":"s","value":"open"}', sink);
    expect(out.readings.map((r) => [r[1], r[3]])).toEqual([['on', 1]]);
    expect(out.events).toEqual([]);
    expect(out.rejects.map((r) => r[0])).toEqual(['bad_value']);
  });

  it('wide CSV: --text-metrics makes a numeric-looking column events; a column of nulls waits for its first value', () => {
    const v = new Validator(opts({ events: true, device: 'd', textMetrics: ['code'] }));
    const { mapper, describe: how } = csvMapper(
      ['time', 'code', 'mode', 'temp'],
      ['2024-01-01T00:00:00Z', '7', '', '20'],
      v.opts,
      v,
    );
    expect(how).toMatch(/\(events: code\)$/);
    const { out, sink } = recorder();
    mapper(['2024-01-01T00:00:00Z', '7', '', '20'], '', sink);
    mapper(['2024-01-01T00:01:00Z', '8', 'auto', '21'], '', sink);
    mapper(['2024-01-01T00:02:00Z', '9', '3', 'x'], '', sink);
    expect(out.events.map((e) => [e[1], e[3]])).toEqual([
      ['code', '7'],
      ['code', '8'],
      ['mode', 'auto'],
      ['code', '9'],
      ['mode', '3'],
    ]);
    expect(out.readings.map((r) => r[3])).toEqual([20, 21]);
    expect(out.rejects).toEqual([['bad_value', 'temp: not a number: x', 1]]);
    expect(out.nulls).toBe(1);
    expect(() =>
      csvMapper(
        ['time', 'a'],
        ['2024-01-01T00:00:00Z', '1'],
        { ...v.opts, textMetrics: ['b'] },
        new Validator({ ...v.opts, textMetrics: ['b'] }),
      ),
    ).toThrow(/--text-metrics: no column 'b'/);
  });
});
