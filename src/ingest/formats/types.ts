// The shape of one input format: how it is recognised, how bytes become records, and how records become
// readings. Every format is one entry in ./index.ts; help text, --input-format and detection read that list.
import type { Readable } from 'node:stream';
import type { MapOptions, MapSink, Validator } from '../mapping.js';
import type { InputRecord } from '../parse.js';

/** What a format's reader is given for one input. */
export interface FormatContext {
  mapping: MapOptions;
  validator: Validator;
  /** Column names for CSV without a header line (--columns). */
  columns?: string[];
  /** Told how the mapper reads the file (for --verbose). */
  describe(text: string): void;
  /** Told where the time comes from (`column "Date"`), for the message when no time could be read. */
  timeSource(text: string): void;
}

/** Reads one input's records in order; the first records choose how the rest are mapped. */
export interface RecordReader {
  /** Maps one record; throws a usage error when the input cannot be mapped at all (no time column). */
  read(rec: InputRecord, sink: MapSink): void;
}

export interface InputFormat {
  /** The --input-format value. */
  readonly name: string;
  /** One line for --help. */
  readonly help: string;
  /** File names (lower case, after `.gz`) that choose this format. */
  readonly fileNames?: RegExp;
  /** The format of stdin and of names no format claims (exactly one entry). */
  readonly isDefault?: boolean;
  /**
   * The format this one is a special case of: an input read as that one whose first record this one
   * detects is read as this one (they share its splitter).
   */
  readonly refines?: string;
  /** True when the record (the first one that tells) is in this format. */
  detect(rec: InputRecord): boolean;
  /** Decompressed bytes → a stream of InputRecord arrays. */
  records(input: Readable, opts: { delimiter?: string }): Promise<Readable>;
  /** A reader for one input. */
  reader(ctx: FormatContext): RecordReader;
}
