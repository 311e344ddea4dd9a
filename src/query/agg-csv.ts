// `query agg --format csv` written by the database: one COPY of the answer's lines, passed through to
// stdout without turning rows into objects (the same bytes as the row printer writes).
import { unescapeCopyText } from '../db/copy-text.js';
import {
  LINE_SETTINGS,
  LINE_TIME_RANGE,
  inlineParams,
  isoTimeText,
  jsNumberText,
} from '../db/sql/agg-lines.js';
import type { AggLines } from '../db/sql/query.js';
import type { Db } from '../db/types.js';
import { csvField } from '../output/render.js';
import {
  aggStatement,
  noticeIfEmpty,
  planAgg,
  runAgg,
  type AggOptions,
  type AggPlan,
  type AggRow,
  type AggStream,
} from './agg.js';
import { functionFor } from './functions.js';
import type { Segment } from './plan.js';

/** A result whose rows are CSV text already: `body` is every line after the header, as it arrives. */
export interface AggCsvStream extends Omit<AggStream, 'pages'> {
  body: AsyncIterable<Uint8Array>;
}

/** The lines of a plan's answer, or why they cannot be written by the database (then rows are). */
export function aggCsvLines(plan: AggPlan): AggLines | string {
  const { opts, series } = plan;
  const unknown = opts.fns.filter((fn) => {
    const kind = functionFor(fn)?.kind;
    return kind !== 'basic' && kind !== 'percentile';
  });
  if (unknown.length) return `${unknown.join(', ')}: no SQL text form`;
  // A bucket can start up to one --every before --since.
  if (
    opts.range.since.getTime() - opts.every.ms < LINE_TIME_RANGE.from ||
    opts.range.until.getTime() > LINE_TIME_RANGE.to
  )
    return 'times outside the years 1 to 9999';
  return {
    devices: series.map((s) => csvField(s.device)),
    metrics: series.map((s) => csvField(s.metric)),
    units: series.map((s) => csvField(s.unit ?? '')),
    time: isoTimeText,
    value: jsNumberText,
  };
}

/** The COPY that writes the CSV lines of a plan's segments after the header (its transaction: LINE_SETTINGS). */
export function aggCsvCopy(plan: AggPlan, segments: Segment[], lines: AggLines): string {
  // Text format, one field a column: COPY escapes a comma in a field as `\,` (unescapeCopyText undoes it).
  return `COPY (${inlineParams(aggStatement(plan, segments, lines))}) TO STDOUT (DELIMITER ',', NULL '')`;
}

/**
 * Plans the query and, where the target streams COPY output and the answer has a text form in SQL, gives
 * `consumeCsv` its CSV lines as COPY writes them, in one transaction held until it returns; otherwise
 * `consume` gets the rows as streamAgg gives them. An empty result is told to `opts.onNotice`.
 */
export async function streamAggCsv<T>(
  db: Db,
  opts: AggOptions,
  consume: (res: AggStream) => Promise<T>,
  consumeCsv: (res: AggCsvStream) => Promise<T>,
): Promise<T> {
  const plan = await planAgg(db, opts);
  const lines = plan.series.length ? aggCsvLines(plan) : 'no series';
  let empty = true;
  let done: { value: T } | null = null;
  if (typeof lines !== 'string') {
    const copy = aggCsvCopy(plan, plan.header.sources, lines);
    done = await db.transaction(async (tx) => {
      if (!tx.copyTo) return null;
      for (const setting of LINE_SETTINGS) await tx.query(setting);
      const chunks = tx.copyTo(copy);
      async function* body(): AsyncGenerator<Uint8Array> {
        for await (const chunk of unescapeCopyText(chunks)) {
          empty = false;
          yield chunk;
        }
      }
      return { value: await consumeCsv({ ...plan.header, body: body() }) };
    });
  }
  if (!done) {
    const value = await runAgg(db, plan, async (res) => {
      async function* counted(pages: AsyncIterable<AggRow[]>): AsyncGenerator<AggRow[]> {
        for await (const page of pages) {
          if (page.length) empty = false;
          yield page;
        }
      }
      return consume({ ...res, pages: counted(res.pages) });
    });
    done = { value };
  }
  if (empty) await noticeIfEmpty(db, opts);
  return done.value;
}
