// The input formats, one entry each. --input-format choices, --help and detection read this list; a new
// format is one new file here and one line in `inputFormats` (test/unit/ingest-formats.test.ts walks it).
import { usageError } from '../../errors.js';
import type { InputRecord } from '../parse.js';
import { csv } from './csv.js';
import { ndjson } from './ndjson.js';
import { telegraf } from './telegraf.js';
import type { InputFormat } from './types.js';

export type { FormatContext, InputFormat, RecordReader } from './types.js';

export const inputFormats: readonly InputFormat[] = [csv, ndjson, telegraf];

export const formatNames = inputFormats.map((f) => f.name);

const defaultFormat = inputFormats.find((f) => f.isDefault) as InputFormat;

export function formatByName(name: string): InputFormat {
  const f = inputFormats.find((x) => x.name === name);
  if (!f) throw usageError(`invalid --input-format '${name}'`, `use ${orList(formatNames)}`);
  return f;
}

/** The format a file name suggests (after .gz); the default for stdin and names no format claims. */
export function formatFromName(name: string): string {
  return baseFormat(name).name;
}

function baseFormat(name: string): InputFormat {
  if (name === '-') return defaultFormat;
  const base = name.toLowerCase().replace(/\.gz$/, '');
  return inputFormats.find((f) => f.fileNames?.test(base)) ?? defaultFormat;
}

/**
 * How an input is read: the splitter of its base format (named, or from the file name), and the formats
 * its first telling record may turn out to be (those refining the base, then the base itself).
 */
export function formatChoice(file: string, named?: string) {
  const base = named !== undefined ? formatByName(named) : baseFormat(file);
  const candidates = [...inputFormats.filter((f) => f.refines === base.name), base];
  return {
    base,
    /** The format of the input, from the first record one of the candidates detects; undefined until then. */
    choose: (rec: InputRecord): InputFormat | undefined => candidates.find((f) => f.detect(rec)),
  };
}

/** The --help lines listing every format. */
export function formatHelp(): string {
  const width = Math.max(...formatNames.map((n) => n.length));
  return inputFormats.map((f) => `  ${f.name.padEnd(width)}  ${f.help}`).join('\n');
}

export function orList(items: readonly string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}
