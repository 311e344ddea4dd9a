import { describe, expect, it } from 'vitest';
import {
  compileTimeFormat,
  componentTime,
  guessTimeFormat,
  makeTimeParser,
  microsToIso,
  zoneConverter,
} from '../../src/ingest/time.js';

const iso = (us: number | null) => (us === null ? null : microsToIso(us));

describe('ingest time parsing', () => {
  const utc = makeTimeParser({ tz: 'UTC' });

  it('reads ISO 8601 with and without offset, with fractions down to microseconds', () => {
    expect(iso(utc('2024-03-01T10:00:00Z'))).toBe('2024-03-01T10:00:00.000Z');
    expect(iso(utc('2024-03-01 11:30:00+01:30'))).toBe('2024-03-01T10:00:00.000Z');
    expect(iso(utc('2024-03-01T10:00:00.123456789-0200'))).toBe('2024-03-01T12:00:00.123456Z');
    expect(iso(utc('2024-03-01'))).toBe('2024-03-01T00:00:00.000Z');
    expect(iso(utc('2024-03-01T10:00'))).toBe('2024-03-01T10:00:00.000Z');
  });

  it('rejects impossible dates and junk', () => {
    for (const t of [
      '2024-02-30T00:00:00Z',
      '2024-13-01',
      '2024-01-01T24:00:00Z',
      'yesterday',
      '',
      '12:00',
    ]) {
      expect(utc(t)).toBeNull();
    }
  });

  it('reads epoch numbers by magnitude, or in the stated unit', () => {
    const want = '2024-03-01T10:00:00.000Z';
    expect(iso(utc('1709287200'))).toBe(want);
    expect(iso(utc('1709287200000'))).toBe(want);
    expect(iso(utc('1709287200000000'))).toBe(want);
    expect(iso(utc('1709287200000000789'))).toBe(want);
    expect(iso(utc('1709287200.5'))).toBe('2024-03-01T10:00:00.500Z');
    expect(iso(makeTimeParser({ tz: 'UTC', epoch: 'ms' })('1709287200'))).toBe('1970-01-20T18:48:07.200Z');
  });

  it('reads naive times in --tz, across daylight saving changes', () => {
    const rome = makeTimeParser({ tz: 'Europe/Rome' });
    expect(iso(rome('2004-03-10 18:00:00'))).toBe('2004-03-10T17:00:00.000Z');
    expect(iso(rome('2004-07-10 18:00:00'))).toBe('2004-07-10T16:00:00.000Z');
    // An explicit offset wins over --tz.
    expect(iso(rome('2004-07-10T18:00:00Z'))).toBe('2004-07-10T18:00:00.000Z');
    expect(() => makeTimeParser({ tz: 'Mars/Olympus' })).toThrow(/unknown time zone/);
  });

  it('DST in New York and Rome: a gap moves forward, an overlap takes the later instant (as PostgreSQL)', () => {
    const ny = makeTimeParser({ tz: 'America/New_York' });
    expect(iso(ny('2024-03-10 01:30:00'))).toBe('2024-03-10T06:30:00.000Z');
    expect(iso(ny('2024-03-10 02:30:00'))).toBe('2024-03-10T07:30:00.000Z');
    expect(iso(ny('2024-03-10 03:30:00'))).toBe('2024-03-10T07:30:00.000Z');
    expect(iso(ny('2024-11-03 00:30:00'))).toBe('2024-11-03T04:30:00.000Z');
    expect(iso(ny('2024-11-03 01:30:00'))).toBe('2024-11-03T06:30:00.000Z');
    expect(iso(ny('2024-11-03 02:30:00'))).toBe('2024-11-03T07:30:00.000Z');
    const rome = makeTimeParser({ tz: 'Europe/Rome' });
    expect(iso(rome('2024-03-31 01:30:00'))).toBe('2024-03-31T00:30:00.000Z');
    expect(iso(rome('2024-03-31 02:30:00'))).toBe('2024-03-31T01:30:00.000Z');
    expect(iso(rome('2024-03-31 03:30:00'))).toBe('2024-03-31T01:30:00.000Z');
    expect(iso(rome('2024-10-27 01:30:00'))).toBe('2024-10-26T23:30:00.000Z');
    expect(iso(rome('2024-10-27 02:30:00'))).toBe('2024-10-27T01:30:00.000Z');
    expect(iso(rome('2024-10-27 03:30:00'))).toBe('2024-10-27T02:30:00.000Z');
  });

  it('reads --time-format patterns', () => {
    const p = makeTimeParser({ tz: 'UTC', format: 'DD/MM/YYYY HH.mm.ss' });
    expect(iso(p('10/03/2004 18.00.00'))).toBe('2004-03-10T18:00:00.000Z');
    expect(p('2004-03-10 18:00:00')).toBeNull();
    const q = makeTimeParser({ tz: 'UTC', format: 'M/D/YYYY H:mm:ss.SSS Z' });
    expect(iso(q('3/1/2024 9:05:07.250 +01:00'))).toBe('2024-03-01T08:05:07.250Z');
    expect(() => makeTimeParser({ tz: 'UTC', format: 'HH:mm' })).toThrow(/needs at least YYYY and MM/);
  });

  it('composes times from year, month, day and hour columns', () => {
    const parts = componentTime('Asia/Shanghai');
    expect(iso(parts({ year: '2013', month: '3', day: '1', hour: '0' }))).toBe('2013-02-28T16:00:00.000Z');
    expect(parts({ year: '2013', month: 'NA', day: '1' })).toBeNull();
  });
});

describe('ingest time parsing: years and offsets', () => {
  const utc = makeTimeParser({ tz: 'UTC' });
  // 0000 is read as the year 0 (1 BC), which the validator rejects as before the year 1.
  const years = ['0000', '0001', '0050', '0099', '0100', '9999'];

  it('years 0000-0099 are those years, not 1900-1999 (ISO, --time-format, year/month/day columns)', () => {
    const pattern = makeTimeParser({ tz: 'UTC', format: 'DD/MM/YYYY HH:mm' });
    const parts = componentTime('UTC');
    for (const y of years) {
      const want = y === '0000' ? '0000-06-01T12:00:00.000Z' : `${y}-06-01T12:00:00.000Z`;
      expect(iso(utc(`${y}-06-01T12:00:00Z`)), `ISO ${y}`).toBe(want);
      expect(iso(utc(`${y}-06-01 12:00`)), `naive ISO ${y}`).toBe(want);
      expect(iso(pattern(`01/06/${y} 12:00`)), `--time-format ${y}`).toBe(want);
      expect(iso(parts({ year: y, month: '6', day: '1', hour: '12' })), `columns ${y}`).toBe(want);
    }
    expect(iso(parts({ year: '50', month: '6', day: '1', hour: '12' }))).toBe('0050-06-01T12:00:00.000Z');
    // 29 February: the year 0 and 4 are leap years in the proleptic Gregorian calendar, 1900 and 100 are not.
    expect(iso(utc('0004-02-29T00:00:00Z'))).toBe('0004-02-29T00:00:00.000Z');
    expect(utc('0100-02-29T00:00:00Z')).toBeNull();
  });
  it('years below 100 in a zone with daylight saving and local mean time', () => {
    const rome = makeTimeParser({ tz: 'Europe/Rome' });
    // Before railway time Rome kept local mean time, +0:49:56.
    expect(iso(rome('0050-06-01 12:00:00'))).toBe('0050-06-01T11:10:04.000Z');
    expect(iso(rome('2024-07-10 18:00:00'))).toBe('2024-07-10T16:00:00.000Z');
  });

  it('a UTC offset beyond PostgreSQL’s ±15:59 (+25:00) is not a time', () => {
    expect(utc('2024-03-01T10:00:00+25:00')).toBeNull();
    expect(utc('2024-03-01T10:00:00-1600')).toBeNull();
    expect(utc('2024-03-01T10:00:00+05:60')).toBeNull();
    expect(iso(utc('2024-03-01T10:00:00+15:59'))).toBe('2024-02-29T18:01:00.000Z');
    const q = makeTimeParser({ tz: 'UTC', format: 'YYYY-MM-DD HH:mm Z' });
    expect(q('2024-03-01 10:00 +25:00')).toBeNull();
    expect(iso(q('2024-03-01 10:00 +14:00'))).toBe('2024-02-29T20:00:00.000Z');
  });

  it('year/month/day columns take digits only: 0x07 or 1e1 are not a month', () => {
    const parts = componentTime('UTC');
    expect(parts({ year: '2024', month: '0x7', day: '1' })).toBeNull();
    expect(parts({ year: '2024', month: '1e1', day: '1' })).toBeNull();
    expect(iso(parts({ year: '2024.0', month: '7', day: '1' }))).toBe('2024-07-01T00:00:00.000Z');
  });
});

describe('guessTimeFormat (the --time-format a bad_time message suggests)', () => {
  it('gives a pattern that reads the example, day first unless only month first fits', () => {
    const cases: Array<[string, string | undefined]> = [
      ['10/03/2004', 'D/M/YYYY'],
      ['10/03/2004 18.00.00', 'D/M/YYYY H.mm.ss'],
      ['03/13/2004 9:30', 'M/D/YYYY H:mm'],
      ['2004-03-10 18:00:00.123', 'YYYY-M-D H:mm:ss.SSS'],
      ['2004/3/1T1:02', 'YYYY/M/DTH:mm'],
      ['10-03-2004, 18:00', 'D-M-YYYY, H:mm'],
      ['18.00.00', undefined],
      ['yesterday', undefined],
      ['1/2/2004 25:00', undefined],
    ];
    for (const [text, pattern] of cases) {
      expect(guessTimeFormat(text), text).toBe(pattern);
      if (pattern) expect(compileTimeFormat(pattern, zoneConverter('UTC'))(text)).not.toBeNull();
    }
  });
});
