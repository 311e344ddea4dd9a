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

/**
 * A cumulative counter's increase per bucket (src/db/sql/aggfn.ts): `final` computes it from `a.inc`, the
 * bucket's increase with resets, and `a.secs`, the bucket's width in seconds. Read raw or from rollups that
 * store each bucket's first and last value and its increase within.
 */
export interface CounterFunction {
  kind: 'counter';
  name: string;
  help: string;
  final: string;
}

/** A function of the other functions' values: `delta` (change from the previous bucket). */
export interface ComparisonFunction {
  kind: 'comparison';
  name: string;
  help: string;
  /** The output column for function `fn`: `delta_avg`. */
  column(fn: string): string;
}

export type AggregateFunction = BasicFunction | PercentileFunction | CounterFunction | ComparisonFunction;

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
    kind: 'counter',
    name: 'increase',
    help: 'increase of a cumulative counter, resets counted (a drop starts a new run from its first value)',
    final: 'a.inc',
  },
  {
    kind: 'counter',
    name: 'rate',
    help: 'increase per second (increase / bucket width in seconds)',
    final: 'a.inc / a.secs',
  },
  {
    kind: 'comparison',
    name: 'delta',
    help: 'change of each other function from the previous bucket (empty when that bucket has no readings)',
    column: (fn) => `delta_${fn}`,
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

export const counterFunctions = aggregateFunctions.filter((f): f is CounterFunction => f.kind === 'counter');

/** The name a function is typed as in examples and help (`p95` for the percentile family). */
export const exampleName = (f: AggregateFunction): string => (f.kind === 'percentile' ? f.example : f.name);

/** The record a lower-cased --fn name belongs to. */
export function functionFor(name: string): AggregateFunction | undefined {
  return aggregateFunctions.find((f) =>
    f.kind === 'percentile' ? f.fraction(name) !== undefined : f.name === name,
  );
}

const families = aggregateFunctions.filter((f): f is PercentileFunction => f.kind === 'percentile');

/** One line for --fn's help: `aggregates: avg,min,max,count,sum,stddev,p95 (any pN, ...)`. */
export function functionsHelp(): string {
  const names = aggregateFunctions.map(exampleName).join(',');
  return `aggregates: ${names}${families.map((f) => ` (any ${f.range})`).join('')}`;
}

/** One line per function for `query agg --help`. */
export function functionsList(): string {
  return aggregateFunctions
    .map((f) =>
      f.kind !== 'percentile'
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
      const basic = aggregateFunctions
        .filter((b) => b.kind !== 'percentile')
        .map((b) => b.name)
        .join(', ');
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
