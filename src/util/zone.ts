// UTC offsets of an IANA time zone: ingest reads naive times in a --tz zone, `query profile --tz` groups
// instants by local hour or weekday.
import { usageError } from '../errors.js';

const QUARTER_HOUR = 900_000;

/** 400 Gregorian years, exactly: the calendar repeats after them. */
const FOUR_CENTURIES_MS = 146_097 * 86_400_000;

/** Date.UTC for the year given: Date.UTC reads years 0-99 as 1900-1999. */
export function utcMs(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
  if (y >= 100 || y < 0) return Date.UTC(y, mo - 1, d, h, mi, s);
  return Date.UTC(y + 400, mo - 1, d, h, mi, s) - FOUR_CENTURIES_MS;
}

export function isUtc(tz: string): boolean {
  return tz.toUpperCase() === 'UTC' || tz === 'Etc/UTC';
}

/** The zone's UTC offset in ms at an instant (positive east of Greenwich); a usage error for an unknown zone. */
export function zoneOffsets(tz: string): (instantMs: number) => number {
  if (isUtc(tz)) return () => 0;
  let dtf: Intl.DateTimeFormat;
  try {
    dtf = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
  } catch {
    throw usageError(
      `unknown time zone '${tz}'`,
      'use an IANA name such as UTC, Europe/Rome or Asia/Shanghai',
    );
  }
  // Offsets change on quarter hours at the finest: one Intl call per quarter hour seen keeps Intl off
  // the hot path.
  const cache = new Map<number, number>();
  return (instantMs) => {
    const key = Math.floor(instantMs / QUARTER_HOUR);
    let off = cache.get(key);
    if (off === undefined) {
      const p: Record<string, number> = {};
      let bc = false;
      for (const part of dtf.formatToParts(new Date(key * QUARTER_HOUR))) {
        if (part.type === 'era') bc = part.value === 'BC';
        else p[part.type] = Number(part.value);
      }
      // Intl counts years before 1 AD as BC; ISO years as 0, -1, ...
      const year = bc ? 1 - p.year! : p.year!;
      off = utcMs(year, p.month!, p.day!, p.hour!, p.minute!, p.second!) - key * QUARTER_HOUR;
      if (cache.size > 100_000) cache.clear();
      cache.set(key, off);
    }
    return off;
  };
}
