// Telegraf's JSON output: {"name", "tags": {...}, "fields": {...}, "timestamp"} a line, one reading per
// field (metric `name.field`), the device from a tag, the other tags kept as the series' tags.
import {
  aliases,
  hasSurrogateEscape,
  type MapOptions,
  type RecordMapper,
  type Validator,
} from '../mapping.js';
import { usageError } from '../../errors.js';
import type { InputRecord } from '../parse.js';
import { jsonLines, MAX_DEPTH, objectOf, parseObjectLine, tagsJson, timeText } from './ndjson.js';
import type { InputFormat } from './types.js';

export function isTelegrafMetric(o: Record<string, unknown>): boolean {
  return typeof o.name === 'string' && !!o.fields && typeof o.fields === 'object' && 'timestamp' in o;
}

export function telegrafMapper(opts: MapOptions, v: Validator): RecordMapper {
  if (opts.metric !== undefined) {
    throw usageError(
      `--metric ${opts.metric} does not apply to Telegraf lines`,
      'each field is a metric named name.field; choose fields with --exclude',
    );
  }
  const excluded = new Set(opts.exclude);
  return (_f, raw, sink) => {
    const o = parseObjectLine(raw, sink);
    if (!o) return;
    if (!isTelegrafMetric(o))
      return sink.reject('missing_field', 'not a Telegraf metric (name, fields, timestamp)', 1);
    const fields = Object.entries(o.fields as Record<string, unknown>).filter(([k]) => !excluded.has(k));
    const tags = { ...((o.tags as Record<string, string>) ?? {}) };
    const tagKey = opts.map.device_id ?? aliases.device_id.find((a) => a in tags);
    const device = opts.device ?? (tagKey !== undefined ? tags[tagKey] : undefined);
    if (tagKey !== undefined) delete tags[tagKey];
    const tt = timeText(o.timestamp);
    const us = v.parseTime(tt);
    const tp = v.timeProblem(us, tt);
    if (tp) return sink.reject(tp[0], tp[1], fields.length);
    if (!device) return sink.reject('missing_field', 'no device tag', fields.length);
    const tagText = Object.keys(tags).length ? tagsJson(tags) : null;
    if (tagText === undefined)
      return sink.reject('bad_tags', `tags nested deeper than ${MAX_DEPTH} levels`, fields.length);
    const esc = hasSurrogateEscape(raw);
    for (const [k, val] of fields)
      v.emit(sink, String(device), `${o.name}.${k}`, us as number, val, null, tagText, esc);
  };
}

export const telegraf: InputFormat = {
  name: 'telegraf',
  help: 'Telegraf JSON output (name, tags, fields, timestamp), one reading per field; told by its first line',
  refines: 'ndjson',
  detect: (rec: InputRecord) => {
    const o = objectOf(rec.raw);
    return o !== undefined && isTelegrafMetric(o);
  },
  records: (input) => jsonLines(input),
  reader(ctx) {
    const map = telegrafMapper(ctx.mapping, ctx.validator);
    ctx.timeSource('key "timestamp"');
    return { read: (rec, sink) => map([], rec.raw, sink) };
  },
};
