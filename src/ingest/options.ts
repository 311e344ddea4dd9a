// Parsers for ingest's flag values that need more than a choice list: --max-errors, --range, --map,
// --unit, --tag.
import { usageError } from '../errors.js';
import { FIELDS, SERIES_LIMITS, type UnitDefaults } from './mapping.js';

export function parseMaxErrors(text: string): { count?: number; percent?: number } {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim());
  if (!m) throw usageError(`invalid --max-errors '${text}'`, 'use a count (100) or a percentage (1%)');
  if (m[2] && Number(m[1]) > 100)
    throw usageError(`invalid --max-errors '${text}': a percentage is at most 100%`);
  return m[2] ? { percent: Number(m[1]) } : { count: Math.floor(Number(m[1])) };
}

export function parseRanges(items: string[]): Map<string, { min: number; max: number }> {
  const out = new Map<string, { min: number; max: number }>();
  for (const item of items) {
    const m = /^(.+)=([^:]*):([^:]*)$/.exec(item);
    const min = m && m[2] !== '' ? Number(m[2]) : -Infinity;
    const max = m && m[3] !== '' ? Number(m[3]) : Infinity;
    if (!m || Number.isNaN(min) || Number.isNaN(max))
      throw usageError(`invalid --range '${item}'`, 'use metric=min:max, for example temp=-40:85 or rh=0:');
    out.set(m[1] as string, { min, max });
  }
  return out;
}

export function parseMap(items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const field = item.slice(0, eq);
    if (eq < 0 || !(FIELDS as string[]).includes(field)) {
      throw usageError(
        `invalid --map '${item}'`,
        'use field=column with field one of time, device_id, metric, value, unit, tags',
      );
    }
    out[field] = item.slice(eq + 1);
  }
  return out;
}

/** Text a series field can hold: no NUL, at most `max` UTF-8 bytes. */
function storable(flag: string, item: string, what: string, text: string, max: number): void {
  if (text.includes('\0')) throw usageError(`invalid ${flag} '${item}': a NUL character in the ${what}`);
  if (Buffer.byteLength(text) > max)
    throw usageError(`invalid ${flag} '${item}': the ${what} is longer than ${max} bytes`);
}

/** --unit metric=unit (repeatable) or --unit unit (every metric without its own). */
export function parseUnits(items: string[]): UnitDefaults {
  const out: UnitDefaults = { byMetric: new Map() };
  for (const item of items) {
    const eq = item.indexOf('=');
    const metric = eq < 0 ? undefined : item.slice(0, eq).trim();
    const unit = (eq < 0 ? item : item.slice(eq + 1)).trim();
    if (unit === '' || metric === '')
      throw usageError(
        `invalid --unit '${item}'`,
        'use metric=unit (temperature=°C), or a unit for every metric',
      );
    storable('--unit', item, 'unit', unit, SERIES_LIMITS.unit);
    if (metric === undefined) out.all = unit;
    else out.byMetric.set(metric, unit);
  }
  return out;
}

/** --tag key=value (repeatable): tags stored with every series the ingest writes. */
export function parseTags(items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const key = item.slice(0, Math.max(0, eq)).trim();
    if (eq < 0 || key === '')
      throw usageError(`invalid --tag '${item}'`, 'use key=value, for example site=plant-2');
    storable('--tag', item, 'tag', item, SERIES_LIMITS.tags);
    out[key] = item.slice(eq + 1).trim();
  }
  if (Buffer.byteLength(JSON.stringify(out)) > SERIES_LIMITS.tags)
    throw usageError(`the --tag values are longer than ${SERIES_LIMITS.tags} bytes together`);
  return out;
}
