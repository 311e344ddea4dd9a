// Parsers for ingest's flag values that need more than a choice list: --max-errors, --range, --map.
import { usageError } from '../errors.js';
import { FIELDS } from './mapping.js';

export function parseMaxErrors(text: string): { count?: number; percent?: number } {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim());
  if (!m) throw usageError(`invalid --max-errors '${text}'`, 'use a count (100) or a percentage (1%)');
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
