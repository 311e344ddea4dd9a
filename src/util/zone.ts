// UTC offsets of an IANA time zone, for grouping instants by local hour or weekday (`query profile --tz`).
import { usageError } from '../errors.js';

const QUARTER_HOUR = 900_000;

/** The zone's UTC offset in ms at an instant (positive east of Greenwich); a usage error for an unknown zone. */
export function zoneOffsets(tz: string): (instantMs: number) => number {
  if (tz.toUpperCase() === 'UTC' || tz === 'Etc/UTC') return () => 0;
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
    });
  } catch {
    throw usageError(
      `unknown time zone '${tz}'`,
      'use an IANA name such as UTC, Europe/Rome or Asia/Shanghai',
    );
  }
  // Offsets change on quarter hours at the finest: one Intl call per quarter hour seen.
  const cache = new Map<number, number>();
  return (instantMs) => {
    const key = Math.floor(instantMs / QUARTER_HOUR);
    let off = cache.get(key);
    if (off === undefined) {
      const p: Record<string, number> = {};
      for (const part of dtf.formatToParts(new Date(key * QUARTER_HOUR))) p[part.type] = Number(part.value);
      const local = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
      off = local - key * QUARTER_HOUR;
      if (cache.size > 100_000) cache.clear();
      cache.set(key, off);
    }
    return off;
  };
}
