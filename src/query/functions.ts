// The aggregate functions of `iotctl query agg`, one record each: --fn help, validation, the SQL that
// computes them (from raw readings, and recombined from rollup partial sums) and reading them back.
import { usageError } from '../errors.js';

/**
 * A function computed per bucket and series. `raw` is SQL over the readings `r.value` of a group; `final`
 * computes it from the partial sums of one bucket and series, added up over every source that holds part
 * of it: `a.n` (count), `a.s` (sum), `a.lo` (min), `a.hi` (max), `a.ss` (sum of squares). Both are aliased
 * as the name.
 */
export interface BasicFunction {
  kind: 'basic';
  name: string;
  help: string;
  raw: string;
  final: string;
}

/** A family of functions named by a parameter (`p95`): computed from raw readings only. */
export interface PercentileFunction {
  kind: 'percentile';
  /** The pattern users type: `pNN`. */
  name: string;
  help: string;
  /** The names it accepts, for help: `p0.1..p99.9`-like text, decimals included. */
  range: string;
  /** An example name, for help and tests. */
  example: string;
  /** The fraction a lower-cased --fn name asks for (p95 -> 0.95), or undefined when it is not one of these. */
  fraction(name: string): number | undefined;
  /** Why a query asking for these reads raw data whatever the rollups. */
  rawOnly(names: string[]): string;
}

export type AggregateFunction = BasicFunction | PercentileFunction;

const percentileRe = /^p(\d{1,2}(\.\d+)?)$/;

export const aggregateFunctions: readonly AggregateFunction[] = [
  { kind: 'basic', name: 'avg', help: 'mean', raw: 'avg(r.value)', final: 'a.s / a.n' },
  { kind: 'basic', name: 'min', help: 'lowest value', raw: 'min(r.value)', final: 'a.lo' },
  { kind: 'basic', name: 'max', help: 'highest value', raw: 'max(r.value)', final: 'a.hi' },
  { kind: 'basic', name: 'count', help: 'number of readings', raw: 'count(*)::bigint', final: 'a.n::bigint' },
  { kind: 'basic', name: 'sum', help: 'sum of the values', raw: 'sum(r.value)', final: 'a.s' },
  {
    kind: 'basic',
    name: 'stddev',
    help: 'sample standard deviation (empty below 2 readings)',
    raw: 'stddev_samp(r.value)',
    // sqrt((sumsq - sum²/count) / (count - 1)); clamped at 0 against rounding.
    final: 'CASE WHEN a.n > 1 THEN sqrt(greatest(0, (a.ss - a.s * a.s / a.n) / (a.n - 1))) END',
  },
  {
    kind: 'percentile',
    name: 'pNN',
    help: 'a percentile',
    range: 'pN, 0 < N < 100, decimals too (p99.9)',
    example: 'p95',
    fraction(name) {
      const m = percentileRe.exec(name);
      const n = Number(m?.[1]);
      return m && n > 0 && n < 100 ? n / 100 : undefined;
    },
    rawOnly: (names) => `${names.join(', ')} cannot be recombined from rollups: percentiles read raw values`,
  },
];

export const basicFunctions = aggregateFunctions.filter((f): f is BasicFunction => f.kind === 'basic');

/** The record a lower-cased --fn name belongs to. */
export function functionFor(name: string): AggregateFunction | undefined {
  return aggregateFunctions.find((f) =>
    f.kind === 'basic' ? f.name === name : f.fraction(name) !== undefined,
  );
}

const families = aggregateFunctions.filter((f): f is PercentileFunction => f.kind === 'percentile');

/** One line for --fn's help: `aggregates: avg,min,max,count,sum,stddev,p95 (any pN, ...)`. */
export function functionsHelp(): string {
  const names = aggregateFunctions.map((f) => (f.kind === 'basic' ? f.name : f.example)).join(',');
  return `aggregates: ${names}${families.map((f) => ` (any ${f.range})`).join('')}`;
}

/** One line per function for `query agg --help`. */
export function functionsList(): string {
  return aggregateFunctions
    .map((f) =>
      f.kind === 'basic'
        ? `  ${f.name.padEnd(8)} ${f.help}`
        : `  ${f.name.padEnd(8)} ${f.help} ${f.range} (${f.example}); from raw readings, never rollups`,
    )
    .join('\n');
}

/** Parses --fn: names, each once, in the order given. */
export function parseFns(text: string): string[] {
  const fns = text.split(',').map((f) => f.trim().toLowerCase());
  for (const f of fns) {
    if (!functionFor(f)) {
      const basic = basicFunctions.map((b) => b.name).join(', ');
      const rest = families.map((x) => ` or ${x.help} ${x.range} (${x.example})`).join('');
      throw usageError(`unknown aggregate '${f}'`, `use ${basic}${rest}`);
    }
  }
  return [...new Set(fns)];
}

/** The percentile names among `fns`, in order (their fractions go to the SQL as one array). */
export function percentilesOf(fns: string[]): string[] {
  return fns.filter((f) => families.some((x) => x.fraction(f) !== undefined));
}

/** The fraction of a percentile name (p99.9 -> 0.999). */
export function percentileFraction(name: string): number {
  const f = families.map((x) => x.fraction(name)).find((x) => x !== undefined);
  if (f === undefined) throw new Error(`not a percentile: ${name}`);
  return f;
}

/** Set when some of `fns` cannot be recombined from rollups: the reason the query reads raw values. */
export function rawOnlyReason(fns: string[]): string | undefined {
  const reasons = families.flatMap((x) => {
    const names = fns.filter((f) => x.fraction(f) !== undefined);
    return names.length ? [x.rawOnly(names)] : [];
  });
  return reasons.length ? reasons.join('; ') : undefined;
}
