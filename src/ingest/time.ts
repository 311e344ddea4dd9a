// Turns the time text of an input row into epoch microseconds: ISO 8601, epoch numbers, --time-format
// patterns and year/month/day/hour columns; naive times are read in the --tz zone.
import { usageError } from '../errors.js';
import { isUtc, utcMs, zoneOffsets } from '../util/zone.js';

export type EpochUnit = 's' | 'ms' | 'us' | 'ns';

export interface TimeOptions {
  /** IANA zone for times without an offset; 'UTC' by default. */
  tz: string;
  /** Unit of bare numbers; undefined: decided by magnitude. */
  epoch?: EpochUnit;
  /** A pattern such as `DD/MM/YYYY HH.mm.ss`; undefined: ISO 8601 or epoch. */
  format?: string;
}

/** Parses one time value; returns epoch microseconds or null when the text is not a valid time. */
export type TimeParser = (text: string) => number | null;

const isoRe =
  /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const numberRe = /^[+-]?\d+(?:\.\d+)?$/;

/** Local wall-clock fields (as if UTC) → UTC microseconds in `tz`; null for impossible dates. */
export type LocalToUtc = (
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  us: number,
) => number | null;

export { utcMs };

export function zoneConverter(tz: string): LocalToUtc {
  const offsetOf = isUtc(tz) ? undefined : zoneOffsets(tz);
  return (y, mo, d, h, mi, s, us) => {
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return null;
    const local = utcMs(y, mo, d, h, mi, s);
    if (new Date(local).getUTCDate() !== d) return null; // 31 April and the like
    let ms = local;
    if (offsetOf) {
      // The offsets a day before and after bracket any transition. Of the two candidate instants keep
      // those whose own offset matches; in an overlap the later one (as PostgreSQL does), in a gap the
      // time moved forward by the gap (local - the earlier offset).
      const oA = offsetOf(local - 86_400_000);
      const oB = offsetOf(local + 86_400_000);
      const a = local - oA;
      const b = local - oB;
      const aFits = offsetOf(a) === oA;
      const bFits = offsetOf(b) === oB;
      ms = aFits && bFits ? Math.max(a, b) : bFits ? b : a;
    }
    return ms * 1000 + us;
  };
}

function fractionToMicros(frac: string | undefined): number {
  if (!frac) return 0;
  return Number((frac + '000000').slice(0, 6));
}

const epochScale: Record<EpochUnit, number> = { s: 1e6, ms: 1e3, us: 1, ns: 1e-3 };

function epochToMicros(text: string, unit?: EpochUnit): number | null {
  const n = Number(text);
  if (!Number.isFinite(n)) return null;
  const abs = Math.abs(n);
  const u: EpochUnit = unit ?? (abs < 1e11 ? 's' : abs < 1e14 ? 'ms' : abs < 1e17 ? 'us' : 'ns');
  // Nanosecond integers exceed 2^53: drop the last three digits as text rather than lose precision.
  if (u === 'ns' && /^\d{4,}$/.test(text)) return Number(text.slice(0, -3));
  return Math.round(n * epochScale[u]);
}

const tokenRe = /YYYY|MM|M|DD|D|HH|H|mm|ss|SSSSSS|SSS|Z/g;

/** Compiles a --time-format pattern (YYYY MM M DD D HH H mm ss SSS SSSSSS Z; anything else literal). */
export function compileTimeFormat(pattern: string, toUtc: LocalToUtc): TimeParser {
  const order: string[] = [];
  let re = '^';
  let last = 0;
  for (const m of pattern.matchAll(tokenRe)) {
    re += pattern.slice(last, m.index).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const t = m[0];
    order.push(t);
    re +=
      t === 'YYYY'
        ? '(\\d{4})'
        : t === 'SSS' || t === 'SSSSSS'
          ? `(\\d{${t.length}})`
          : t === 'Z'
            ? '(Z|[+-]\\d{2}(?::?\\d{2})?)'
            : t.length === 1
              ? '(\\d{1,2})'
              : '(\\d{2})';
    last = m.index + t.length;
  }
  re += pattern.slice(last).replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '$';
  if (!order.includes('YYYY') || !(order.includes('MM') || order.includes('M'))) {
    throw usageError(
      `--time-format '${pattern}' needs at least YYYY and MM`,
      'for example: DD/MM/YYYY HH.mm.ss',
    );
  }
  const regex = new RegExp(re);
  return (text) => {
    const m = regex.exec(text.trim());
    if (!m) return null;
    const f: Record<string, string> = {};
    order.forEach((t, i) => (f[t] = m[i + 1] as string));
    const y = Number(f.YYYY);
    const mo = Number(f.MM ?? f.M);
    const d = Number(f.DD ?? f.D ?? 1);
    const h = Number(f.HH ?? f.H ?? 0);
    const us = f.SSSSSS ? Number(f.SSSSSS) : f.SSS ? Number(f.SSS) * 1000 : 0;
    if (f.Z) return withOffset(y, mo, d, h, Number(f.mm ?? 0), Number(f.ss ?? 0), us, f.Z);
    return toUtc(y, mo, d, h, Number(f.mm ?? 0), Number(f.ss ?? 0), us);
  };
}

/** The largest UTC offset read, in hours (as PostgreSQL: ±15:59). */
export const MAX_OFFSET_HOURS = 15;

function withOffset(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  us: number,
  z: string,
) {
  const local = zoneConverter('UTC')(y, mo, d, h, mi, s, us);
  if (local === null) return null;
  if (z === 'Z' || z === 'z') return local;
  const sign = z[0] === '-' ? -1 : 1;
  const digits = z.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2) || 0);
  // PostgreSQL's limit (no zone is further than 14 hours from UTC).
  if (hours > MAX_OFFSET_HOURS || minutes > 59) return null;
  return local - sign * (hours * 60 + minutes) * 60_000_000;
}

export function makeTimeParser(opts: TimeOptions): TimeParser {
  const parse = uncachedTimeParser(opts);
  // Long files repeat each timestamp once per device and metric: remember the last one.
  let lastText: string | undefined;
  let lastUs: number | null = null;
  return (text) => {
    if (text !== lastText) {
      lastUs = parse(text);
      lastText = text;
    }
    return lastUs;
  };
}

function uncachedTimeParser(opts: TimeOptions): TimeParser {
  const toUtc = zoneConverter(opts.tz);
  if (opts.format) return compileTimeFormat(opts.format, toUtc);
  return (raw) => {
    const text = raw.trim();
    if (numberRe.test(text)) return epochToMicros(text, opts.epoch);
    const m = isoRe.exec(text);
    if (!m) return null;
    const [, y, mo, d, h, mi, s, frac, z] = m;
    const args = [Number(y), Number(mo), Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0)] as const;
    const us = fractionToMicros(frac);
    return z ? withOffset(...args, us, z) : toUtc(...args, us);
  };
}

/** Times from year, month, day[, hour, minute, second] columns, read in `tz`. */
export function componentTime(tz: string): (parts: Record<string, string>) => number | null {
  const toUtc = zoneConverter(tz);
  const int = (v: string | undefined, dflt: number) => {
    if (v === undefined || v.trim() === '') return dflt;
    // Digits only (a trailing .0 as spreadsheets write it): Number() would also read 0x1A or 1e3.
    return /^\s*\d+(?:\.0*)?\s*$/.test(v) ? Number(v) : NaN;
  };
  return (p) => {
    const f = [
      int(p.year, NaN),
      int(p.month, NaN),
      int(p.day, 1),
      int(p.hour, 0),
      int(p.minute, 0),
      int(p.second, 0),
    ];
    if (f.some((n) => Number.isNaN(n))) return null;
    return toUtc(f[0]!, f[1]!, f[2]!, f[3]!, f[4]!, f[5]!, 0);
  };
}

export const COMPONENT_NAMES = ['year', 'month', 'day', 'hour', 'minute', 'second'];

/** ISO text with microseconds, for messages and tests. */
export function microsToIso(us: number): string {
  const ms = Math.floor(us / 1000);
  const rest = us - ms * 1000;
  const iso = new Date(ms).toISOString();
  return rest ? iso.replace('Z', String(rest).padStart(3, '0') + 'Z') : iso;
}

const dayFirstRe = /^(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(.*)$/;
const yearFirstRe = /^(\d{4})([/.-])(\d{1,2})\2(\d{1,2})(.*)$/;
const clockRe = /^([ T]|, ?)(\d{1,2})([:.])(\d{2})(?:\3(\d{2})(?:[.,](\d{3}|\d{6}))?)?$/;

/**
 * A --time-format pattern that reads `text`, for a hint: a day/month/year or year/month/day date with an
 * optional time of day (day first unless only month first fits); undefined when none of these does. Day,
 * month and hour are the one-letter tokens, which read one or two digits (a file may have both).
 */
export function guessTimeFormat(text: string): string | undefined {
  const t = text.trim();
  let pattern: string;
  let rest: string;
  const y = yearFirstRe.exec(t);
  const d = dayFirstRe.exec(t);
  if (y) {
    pattern = `YYYY${y[2]}M${y[2]}D`;
    rest = y[5] as string;
  } else if (d) {
    const monthFirst = Number(d[1]) <= 12 && Number(d[3]) > 12;
    pattern = monthFirst ? `M${d[2]}D${d[2]}YYYY` : `D${d[2]}M${d[2]}YYYY`;
    rest = d[5] as string;
  } else return undefined;
  if (rest !== '') {
    const c = clockRe.exec(rest);
    if (!c) return undefined;
    const [, gap, , sep, , seconds, frac] = c;
    pattern += `${gap}H${sep}mm${seconds !== undefined ? `${sep}ss` : ''}`;
    if (frac !== undefined)
      pattern += `${rest.charAt(rest.length - frac.length - 1)}${'S'.repeat(frac.length)}`;
  }
  return compileTimeFormat(pattern, zoneConverter('UTC'))(t) === null ? undefined : pattern;
}
