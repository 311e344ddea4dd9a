// `iotctl query`: aggregates from the cheapest exact source, latest readings, gaps, and raw readings.
import type { Command } from 'commander';
import {
  aggCombined,
  aggRaw,
  gapsBetween,
  latestReadings,
  rawPage,
  type SeriesFilter,
} from '../db/sql/query.js';
import { loadStore } from '../db/store.js';
import type { Db } from '../db/types.js';
import { ExitCode, usageError } from '../errors.js';
import { extent, lineChart, sparkline, type ChartPoint } from '../output/chart.js';
import { log } from '../output/log.js';
import {
  csvHeader,
  csvLine,
  formatCell,
  printLine,
  printRows,
  renderJson,
  writeOut,
  type Column,
  type Format,
} from '../output/render.js';
import { lttb } from '../query/lttb.js';
import {
  addFilterOptions,
  addRangeOptions,
  parseFilter,
  parseRangeFlags,
  type FilterFlags,
} from '../query/options.js';
import { describePlan, planSources, type Segment } from '../query/plan.js';
import { loadRollupStates } from '../query/sources.js';
import type { TimeRange } from '../query/time.js';
import { formatAge, parseDuration, type Duration } from '../util/duration.js';
import { examples, globalOptions, parseIntOption, withDb } from './common.js';

// ---- agg ----------------------------------------------------------------------------------------------

const fnRe = /^(avg|min|max|count|sum|stddev|p(\d{1,2}(\.\d+)?))$/;
type BasicFn = 'avg' | 'min' | 'max' | 'count' | 'sum' | 'stddev';

export function parseFns(text: string): string[] {
  const fns = text.split(',').map((f) => f.trim().toLowerCase());
  for (const f of fns) {
    const m = fnRe.exec(f);
    if (!m || (m[2] !== undefined && !(Number(m[2]) > 0 && Number(m[2]) < 100))) {
      throw usageError(
        `unknown aggregate '${f}'`,
        'use avg, min, max, count, sum, stddev or a percentile p1..p99 (p95)',
      );
    }
  }
  return [...new Set(fns)];
}

const isPercentile = (fn: string) => fn.startsWith('p');

export interface AggOptions {
  filter: SeriesFilter;
  range: TimeRange;
  every: Duration;
  fns: string[];
}

export type AggRow = { time: Date; device: string; metric: string; unit: string | null } & Record<
  string,
  unknown
>;

export interface AggResult {
  every: string;
  since: Date;
  until: Date;
  fns: string[];
  /** Which source answered each part of the range, and why. */
  sources: Segment[];
  rows: AggRow[];
}

interface AggSqlRow {
  time: Date;
  device: string;
  metric: string;
  unit: string | null;
  count: number;
  sum: number;
  avg: number;
  min: number;
  max: number;
  stddev: number | null;
  percentiles?: number[] | null;
}

export async function queryAgg(db: Db, opts: AggOptions): Promise<AggResult> {
  const store = await loadStore(db);
  const percentiles = opts.fns.filter(isPercentile);
  const states = await loadRollupStates(db, store);
  // Reading raw instead of a rollup is slower, not wrong: said on stderr whether or not --explain is given.
  if (states.problem && !percentiles.length) log.warn(states.problem);
  const rawOnly = percentiles.length
    ? `${percentiles.join(', ')} cannot be recombined from rollups: percentiles read raw values`
    : states.problem;
  const from = opts.range.since.getTime();
  const to = opts.range.until.getTime();
  const sources = planSources({
    from,
    to,
    everyMs: opts.every.ms,
    everyText: opts.every.text,
    rollups: states.rollups,
    rawOnly,
  });
  const onlyRaw = sources.every((s) => s.source === 'raw');
  const sql = onlyRaw
    ? aggRaw(
        (i, c) => store.engine.bucketExpr(i, c),
        opts.every.interval,
        { from: opts.range.since, to: opts.range.until },
        opts.filter,
        percentiles.map((p) => Number(p.slice(1)) / 100),
      )
    : aggCombined((i, c) => store.engine.bucketExpr(i, c), opts.every.interval, sources, opts.filter);
  const { rows } = await db.query<AggSqlRow>(sql);
  const result = rows.map((r) => {
    const row: AggRow = { time: new Date(r.time), device: r.device, metric: r.metric, unit: r.unit };
    for (const fn of opts.fns) {
      row[fn] = isPercentile(fn) ? (r.percentiles?.[percentiles.indexOf(fn)] ?? null) : r[fn as BasicFn];
    }
    return row;
  });
  return {
    every: opts.every.text,
    since: opts.range.since,
    until: opts.range.until,
    fns: opts.fns,
    sources,
    rows: result,
  };
}

// ---- latest -------------------------------------------------------------------------------------------

export interface LatestRow {
  time: Date;
  device: string;
  metric: string;
  value: number;
  unit: string | null;
  ageSeconds: number;
}

export interface LatestResult {
  stale: string | null;
  rows: LatestRow[];
}

export async function queryLatest(
  db: Db,
  opts: { filter: SeriesFilter; stale?: Duration },
): Promise<LatestResult> {
  await loadStore(db);
  const { rows } = await db.query<{
    time: Date;
    device: string;
    metric: string;
    value: number;
    unit: string | null;
    age_seconds: number;
  }>(latestReadings(opts.filter, opts.stale?.interval));
  return {
    stale: opts.stale?.text ?? null,
    rows: rows.map((r) => ({
      time: new Date(r.time),
      device: r.device,
      metric: r.metric,
      value: r.value,
      unit: r.unit,
      ageSeconds: Math.max(0, Math.round(r.age_seconds)),
    })),
  };
}

// ---- gaps ---------------------------------------------------------------------------------------------

export interface GapRow {
  device: string;
  metric: string;
  from: Date;
  to: Date;
  seconds: number;
  /** Readings missing at the expected interval. */
  missing: number;
  /** True for the gap from the last reading to the end of the range (the device is still silent). */
  open: boolean;
}

export interface GapsResult {
  expected: string;
  since: Date;
  until: Date;
  rows: GapRow[];
}

export async function queryGaps(
  db: Db,
  opts: { filter: SeriesFilter; range: TimeRange; expected: Duration },
): Promise<GapsResult> {
  await loadStore(db);
  const { rows } = await db.query<GapRow>(
    gapsBetween(opts.filter, { from: opts.range.since, to: opts.range.until }, opts.expected.interval),
  );
  return {
    expected: opts.expected.text,
    since: opts.range.since,
    until: opts.range.until,
    rows: rows.map((r) => ({ ...r, from: new Date(r.from), to: new Date(r.to) })),
  };
}

// ---- raw ----------------------------------------------------------------------------------------------

export interface RawRow {
  time: Date;
  device: string;
  metric: string;
  value: number;
  unit: string | null;
}

export interface RawOptions {
  filter: SeriesFilter;
  range: TimeRange;
  /** At most this many rows in all. */
  limit?: number;
  /** Keep this many points per series (LTTB). */
  downsample?: number;
  pageSize?: number;
}

/**
 * Readings ordered by series and time, fetched in keyset pages so memory stays flat whatever the range;
 * with `downsample`, one series at a time is held to pick its points.
 */
export async function* queryRaw(db: Db, opts: RawOptions): AsyncGenerator<RawRow> {
  await loadStore(db);
  const pageSize = opts.pageSize ?? 10_000;
  let remaining = opts.limit ?? Infinity;
  let after: { seriesId: number; time: Date } | undefined;
  // The series being downsampled: LTTB needs all of one series' points.
  const current: { id: number; rows: Array<RawRow & { x: number; y: number }> } = { id: -1, rows: [] };
  function* flush(): Generator<RawRow> {
    if (!opts.downsample) return;
    for (const p of lttb(current.rows, opts.downsample as number)) {
      if (remaining <= 0) return;
      remaining--;
      yield { time: p.time, device: p.device, metric: p.metric, value: p.value, unit: p.unit };
    }
  }
  while (remaining > 0) {
    const size = opts.downsample ? pageSize : Math.min(pageSize, remaining);
    const { rows } = await db.query<RawRow & { series_id: number }>(
      rawPage(opts.filter, { from: opts.range.since, to: opts.range.until }, size, after),
    );
    for (const r of rows) {
      const row: RawRow = {
        time: new Date(r.time),
        device: r.device,
        metric: r.metric,
        value: r.value,
        unit: r.unit,
      };
      if (!opts.downsample) {
        if (remaining-- <= 0) return;
        yield row;
        continue;
      }
      if (current.id !== r.series_id) {
        yield* flush();
        current.id = r.series_id;
        current.rows = [];
      }
      current.rows.push({ ...row, x: row.time.getTime(), y: row.value });
    }
    const last = rows[rows.length - 1];
    if (!last || rows.length < size) break;
    after = { seriesId: last.series_id, time: new Date(last.time) };
  }
  yield* flush();
}

// ---- output -------------------------------------------------------------------------------------------

/** Table cells: 6 significant digits and the series' unit. */
const withUnit = (unit: string | null) => (v: unknown) =>
  v === null || v === undefined
    ? ''
    : `${typeof v === 'number' ? Number(v.toPrecision(6)) : formatCell(v)}${unit ? ` ${unit}` : ''}`;

function seriesKey(r: { device: string; metric: string }): string {
  return `${r.device} ${r.metric}`;
}

function groupBySeries<R extends { device: string; metric: string }>(rows: R[]): Map<string, R[]> {
  const groups = new Map<string, R[]>();
  for (const r of rows) {
    const key = seriesKey(r);
    const list = groups.get(key);
    if (list) list.push(r);
    else groups.set(key, [r]);
  }
  return groups;
}

const MAX_CHARTS = 10;

async function printCharts(
  groups: Map<string, Array<{ t: number; v: number | null }>>,
  what: string,
): Promise<void> {
  const width = Math.max(20, Math.min(100, (process.stdout.columns ?? 80) - 16));
  let n = 0;
  for (const [key, points] of groups) {
    if (n++ === MAX_CHARTS) {
      log.info(
        `--chart: ${groups.size - MAX_CHARTS} more series not drawn; narrow with --device or --metric`,
      );
      break;
    }
    const finite = points.filter((p): p is ChartPoint => p.v !== null);
    await printLine('\n' + lineChart(finite, { width, height: 10, title: `${key} (${what})` }));
  }
}

function warnChartIgnored(format: Format, chart: boolean): void {
  if (chart && format !== 'table')
    log.warn(`--chart draws on table output only; ignored with --format ${format}`);
}

async function printAgg(format: Format, res: AggResult, chart: boolean, explain: boolean): Promise<void> {
  warnChartIgnored(format, chart);
  if (format === 'json') {
    const { sources, ...rest } = res;
    return writeOut(renderJson(explain ? { ...rest, explain: sources } : rest));
  }
  if (explain) for (const line of describePlan(res.sources)) log.info(`explain: ${line}`);
  const columns: Column<AggRow>[] = [
    { key: 'time' },
    { key: 'device' },
    { key: 'metric' },
    ...res.fns.map((fn): Column<AggRow> => ({
      key: fn,
      align: 'right',
      format: fn === 'count' ? undefined : (v, row) => withUnit(row.unit)(v),
    })),
  ];
  if (format === 'csv') {
    return printRows('csv', res.rows, [
      ...columns.map((c) => ({ key: c.key })),
      { key: 'unit' },
    ] as Column<AggRow>[]);
  }
  await printRows('table', res.rows, columns);
  const shown = res.fns.find((f) => f !== 'count') ?? 'count';
  const groups = groupBySeries(res.rows);
  const summary = [...groups.values()].map((rows) => {
    const values = rows.map((r) => r[shown] as number | null);
    const range = extent(values);
    return {
      device: rows[0]!.device,
      metric: rows[0]!.metric,
      unit: rows[0]!.unit,
      buckets: rows.length,
      low: range?.lo ?? null,
      high: range?.hi ?? null,
      trend: sparkline(values),
    };
  });
  type S = (typeof summary)[number];
  await printRows('table', summary, [
    { key: 'device' },
    { key: 'metric' },
    { key: 'buckets', align: 'right' },
    { key: 'low', header: `lowest ${shown}`, align: 'right', format: (v, r) => withUnit(r.unit)(v) },
    { key: 'high', header: `highest ${shown}`, align: 'right', format: (v, r) => withUnit(r.unit)(v) },
    { key: 'trend', header: `${shown} per ${res.every}` },
  ] as Column<S>[]);
  if (chart) {
    const points = new Map(
      [...groups].map(([k, rows]) => [
        k,
        rows.map((r) => ({ t: r.time.getTime(), v: r[shown] as number | null })),
      ]),
    );
    await printCharts(points, `${shown} per ${res.every}`);
  }
}

const rawColumns: Column<RawRow>[] = [
  { key: 'time' },
  { key: 'device' },
  { key: 'metric' },
  { key: 'value', align: 'right' },
  { key: 'unit' },
];

/** Streams json and csv row by row (in page-sized writes); a table needs every row before it can be drawn. */
async function printRaw(
  format: Format,
  rows: AsyncIterable<RawRow>,
  header: object,
  chart: boolean,
): Promise<void> {
  warnChartIgnored(format, chart);
  if (format === 'table') {
    const all: RawRow[] = [];
    for await (const r of rows) all.push(r);
    await printRows('table', all, rawColumns);
    if (chart) {
      const groups = new Map(
        [...groupBySeries(all)].map(([k, list]) => [
          k,
          list.map((r) => ({ t: r.time.getTime(), v: r.value })),
        ]),
      );
      await printCharts(groups, 'value');
    }
    return;
  }
  let buf = format === 'csv' ? csvHeader(rawColumns) : JSON.stringify(header).slice(0, -1) + ',"rows":[';
  let first = true;
  for await (const r of rows) {
    buf += format === 'csv' ? csvLine(r, rawColumns) : `${first ? '\n' : ',\n'}${JSON.stringify(r)}`;
    first = false;
    if (buf.length > 65_536) {
      await writeOut(buf);
      buf = '';
    }
  }
  await writeOut(buf + (format === 'json' ? `${first ? '' : '\n'}]}\n` : ''));
}

// ---- registration -------------------------------------------------------------------------------------

type CommonFlags = FilterFlags & { since: string; until: string };

export function registerQuery(program: Command): void {
  const query = program
    .command('query')
    .description('read readings: aggregates (agg), latest values, gaps, raw readings');

  const agg = addRangeOptions(addFilterOptions(query.command('agg')))
    .description('aggregates per time bucket, from the coarsest rollup that answers exactly')
    .option('--every <duration>', 'bucket width', '1h')
    .option('--fn <list>', 'aggregates: avg,min,max,count,sum,stddev,p95 (any p1..p99)', 'avg,min,max,count')
    .option('--explain', 'say which source (rollup or raw) answered each part of the range, and why')
    .option('--chart', 'draw a line chart per series (table output)')
    .action(
      async (
        o: CommonFlags & { every: string; fn: string; explain?: boolean; chart?: boolean },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        const opts: AggOptions = {
          filter: parseFilter(o),
          range: parseRangeFlags(o),
          every: parseDuration(o.every, '--every'),
          fns: parseFns(o.fn),
        };
        const res = await withDb(g, (db) => queryAgg(db, opts));
        await printAgg(g.format, res, !!o.chart, !!o.explain);
      },
    );
  examples(agg, [
    'iotctl query agg --metric temperature --since 24h --every 1h',
    "iotctl query agg --metric temperature --device-like 'hall-%' --since 7d --every 1d --fn avg,stddev --explain",
    'iotctl query agg --metric humidity --device d1,d2 --since 2026-01-05T00:00Z --until 2026-01-06 --every 5m --fn p95 --json',
  ]);

  const latest = addFilterOptions(query.command('latest'))
    .description('the last reading of each device and metric, and its age')
    .option('--stale <duration>', 'only series silent for longer than this (offline sensors); exit 5 if any')
    .action(async (o: FilterFlags & { stale?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const opts = { filter: parseFilter(o), stale: o.stale ? parseDuration(o.stale, '--stale') : undefined };
      const res = await withDb(g, (db) => queryLatest(db, opts));
      await printRows(
        g.format,
        res.rows,
        [
          { key: 'time' },
          { key: 'device' },
          { key: 'metric' },
          {
            key: 'value',
            align: 'right',
            format: g.format === 'table' ? (v, r) => withUnit(r.unit)(v) : undefined,
          },
          ...(g.format === 'table' ? [] : [{ key: 'unit' } as Column<LatestRow>]),
          {
            key: 'ageSeconds',
            header: 'age',
            align: 'right',
            format: g.format === 'table' ? (v) => formatAge(Number(v) * 1000) : undefined,
          },
        ],
        res,
      );
      // Like `status`, a found problem is an exit code cron and monitoring can act on.
      if (opts.stale && res.rows.length > 0) process.exitCode = ExitCode.checkFailed;
    });
  examples(latest, ['iotctl query latest --metric temperature', 'iotctl query latest --stale 15m --json']);

  const gaps = addRangeOptions(addFilterOptions(query.command('gaps')))
    .description(
      'missing intervals per device and metric: consecutive readings further apart than --expected',
    )
    .requiredOption(
      '--expected <duration>',
      'the interval readings should arrive at (a gap is anything longer)',
    )
    .action(async (o: CommonFlags & { expected: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const opts = {
        filter: parseFilter(o),
        range: parseRangeFlags(o),
        expected: parseDuration(o.expected, '--expected'),
      };
      const res = await withDb(g, (db) => queryGaps(db, opts));
      await printRows(
        g.format,
        res.rows,
        [
          { key: 'device' },
          { key: 'metric' },
          { key: 'from' },
          {
            key: 'to',
            format: g.format === 'table' ? (v, r) => formatCell(v) + (r.open ? ' (open)' : '') : undefined,
          },
          {
            key: 'seconds',
            header: g.format === 'table' ? 'length' : 'seconds',
            align: 'right',
            format: g.format === 'table' ? (v) => formatAge(Number(v) * 1000) : undefined,
          },
          { key: 'missing', align: 'right' },
          ...(g.format === 'table' ? [] : [{ key: 'open' } as Column<GapRow>]),
        ],
        res,
      );
    });
  examples(gaps, [
    'iotctl query gaps --expected 5m --since 7d',
    "iotctl query gaps --expected 1m --device-like 'hall-%' --format csv",
  ]);

  const raw = addRangeOptions(addFilterOptions(query.command('raw')), '1h')
    .description('readings in a range, series by series in time order; json and csv stream')
    .option('--limit <n>', 'at most this many readings', parseIntOption('--limit'))
    .option(
      '--downsample <n>',
      'keep n points per series with LTTB (for plotting)',
      parseIntOption('--downsample', 3),
    )
    .option('--chart', 'draw a line chart per series (table output)')
    .action(
      async (o: CommonFlags & { limit?: number; downsample?: number; chart?: boolean }, cmd: Command) => {
        const g = globalOptions(cmd);
        const opts: RawOptions = {
          filter: parseFilter(o),
          range: parseRangeFlags(o),
          limit: o.limit,
          downsample: o.downsample,
        };
        await withDb(g, (db) =>
          printRaw(
            g.format,
            queryRaw(db, opts),
            { since: opts.range.since, until: opts.range.until },
            !!o.chart,
          ),
        );
      },
    );
  examples(raw, [
    'iotctl query raw --metric temperature --device d1 --since 6h --chart',
    'iotctl query raw --metric temperature --since 30d --downsample 500 --format csv > plot.csv',
  ]);
}
