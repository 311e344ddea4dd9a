// Times as users type them for --since/--until: `now`, a duration back from now (`24h`, `7d`), or ISO 8601.
import { usageError } from '../errors.js';
import { isDuration, parseDuration } from '../util/duration.js';

const isoRe = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/i;
const zoneRe = /(Z|[+-]\d{2}(:?\d{2})?)$/i;

/** Resolves a --since/--until value against `now`. ISO times without a zone are UTC. */
export function parseTime(input: string, now: Date, what = 'time'): Date {
  const text = input.trim();
  if (text.toLowerCase() === 'now') return new Date(now.getTime());
  if (isDuration(text)) return new Date(now.getTime() - parseDuration(text, what, { allowZero: true }).ms);
  if (isoRe.test(text)) {
    const hasTime = /\d[T ]\d/.test(text);
    const normalised = hasTime && !zoneRe.test(text) ? text.replace(' ', 'T') + 'Z' : text.replace(' ', 'T');
    const ms = Date.parse(normalised);
    if (!Number.isNaN(ms)) return new Date(ms);
  }
  throw usageError(
    `invalid ${what} '${input}'`,
    'use now, a duration back from now (15m, 24h, 7d) or ISO 8601 (2026-01-05T10:00Z)',
  );
}

export interface TimeRange {
  since: Date;
  until: Date;
}

export function parseRange(since: string, until: string, now: Date = new Date()): TimeRange {
  const range = { since: parseTime(since, now, '--since'), until: parseTime(until, now, '--until') };
  if (range.since.getTime() >= range.until.getTime()) {
    throw usageError(
      `--since (${range.since.toISOString()}) must be before --until (${range.until.toISOString()})`,
    );
  }
  return range;
}
