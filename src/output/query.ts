// Printers for `iotctl query`: tables with units, per-series sparklines and charts, streamed json/csv.
import { describePlan } from '../query/plan.js';
import type { AggRow, AggStream } from '../query/agg.js';
import type { AggCsvStream } from '../query/agg-csv.js';
import type { GapRow, GapsResult } from '../query/gaps.js';
import type { LatestResult, LatestRow } from '../query/latest.js';
import type { RawRow } from '../query/raw.js';
import { formatAge } from '../util/duration.js';
import { extent, lineChart, sparkline, type ChartPoint } from './chart.js';
import { log } from './log.js';
import {
  csvHeader,
  csvLine,
  formatCell,
  printLine,
  prettyRowJson,
  printRows,
  writeCsvRows,
  writeJsonRows,
  writeNdjsonRows,
  writeOut,
  type Column,
  type RowFormat,
} from './render.js';

/** Table cells: 6 significant digits and the series' unit. */
export const withUnit = (unit: string | null) => (v: unknown) =>
  v === null || v === undefined
    ? ''
    : `${typeof v === 'number' ? Number(v.toPrecision(6)) : formatCell(v)}${unit ? ` ${unit}` : ''}`;

function seriesKey(r: { device: string; metric: string }): string {
  return `${r.device} ${r.metric}`;
}

export function groupBySeries<R extends { device: string; metric: string }>(rows: R[]): Map<string, R[]> {
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

/** Warnings a data function returned, on stderr. */
export function printWarnings(warnings: string[]): void {
  for (const w of warnings) log.warn(w);
}

function warnChartIgnored(format: RowFormat, chart: boolean): void {
  if (chart && format !== 'table')
    log.warn(`--chart draws on table output only; ignored with --format ${format}`);
}

/** The columns of `query agg --format csv`, in order (what aggCsvLines writes in SQL, too). */
function aggCsvColumns(fns: string[]): Column<AggRow>[] {
  return ['time', 'device', 'metric', ...fns, 'unit'].map((key) => ({ key }));
}

/** `query agg --format csv` from lines the database wrote: the header, then the lines as they come. */
export async function printAggCsv(res: AggCsvStream, chart: boolean, explain: boolean): Promise<void> {
  warnChartIgnored('csv', chart);
  if (explain) for (const line of describePlan(res.sources)) log.info(`explain: ${line}`);
  await writeOut(csvHeader(aggCsvColumns(res.fns)));
  for await (const chunk of res.body) await writeOut(chunk);
}

/** A table is drawn once all its rows are in: past this many, it shows the first ones and says so. */
export const AGG_TABLE_LIMIT = 100_000;

/**
 * json, ndjson and csv stream the rows as they are fetched (the JSON is byte for byte what rendering the
 * whole result would give); a table holds up to AGG_TABLE_LIMIT rows.
 */
export async function printAgg(
  format: RowFormat,
  res: AggStream,
  chart: boolean,
  explain: boolean,
  tableLimit = AGG_TABLE_LIMIT,
): Promise<void> {
  warnChartIgnored(format, chart);
  if (format === 'json') {
    const head = { every: res.every, since: res.since, until: res.until, fns: res.fns };
    const row = prettyRowJson(['time', 'device', 'metric', 'unit', ...res.fns], 2);
    return writeJsonRows(head, res.pages, explain ? { explain: res.sources } : {}, row);
  }
  if (explain) for (const line of describePlan(res.sources)) log.info(`explain: ${line}`);
  if (format === 'ndjson') {
    // The keys in the order of the JSON rows; compact (prettyRowJson at depth 0 on one line would not be).
    const keys = ['time', 'device', 'metric', 'unit', ...res.fns];
    return writeNdjsonRows(res.pages, (r) => {
      const o: Record<string, unknown> = {};
      for (const k of keys) o[k] = (r as Record<string, unknown>)[k];
      return JSON.stringify(o) + '\n';
    });
  }
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
  if (format === 'csv') return writeCsvRows(res.pages, aggCsvColumns(res.fns));
  const rows: AggRow[] = [];
  read: for await (const page of res.pages) {
    for (const r of page) {
      if (rows.length === tableLimit) {
        log.warn(
          `the table shows the first ${tableLimit.toLocaleString('en-US')} rows; use --format csv or json for all of them`,
        );
        break read;
      }
      rows.push(r);
    }
  }
  await printRows('table', rows, columns);
  const shown = res.fns.find((f) => f !== 'count') ?? 'count';
  const groups = groupBySeries(rows);
  const summary = [...groups.values()].map((list) => {
    const values = list.map((r) => r[shown] as number | null);
    const range = extent(values);
    return {
      device: list[0]!.device,
      metric: list[0]!.metric,
      unit: list[0]!.unit,
      buckets: list.length,
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
      [...groups].map(([k, list]) => [
        k,
        list.map((r) => ({ t: r.time.getTime(), v: r[shown] as number | null })),
      ]),
    );
    await printCharts(points, `${shown} per ${res.every}`);
  }
}

export function printLatest(format: RowFormat, res: LatestResult): Promise<void> {
  const table = format === 'table';
  return printRows(
    format,
    res.rows,
    [
      { key: 'time' },
      { key: 'device' },
      { key: 'metric' },
      { key: 'value', align: 'right', format: table ? (v, r) => withUnit(r.unit)(v) : undefined },
      ...(table ? [] : [{ key: 'unit' } as Column<LatestRow>]),
      {
        key: 'ageSeconds',
        header: 'age',
        align: 'right',
        format: table ? (v) => formatAge(Number(v) * 1000) : undefined,
      },
    ],
    res,
  );
}

export function printGaps(format: RowFormat, res: GapsResult): Promise<void> {
  const table = format === 'table';
  return printRows(
    format,
    res.rows,
    [
      { key: 'device' },
      { key: 'metric' },
      { key: 'from' },
      { key: 'to', format: table ? (v, r) => formatCell(v) + (r.open ? ' (open)' : '') : undefined },
      {
        key: 'seconds',
        header: table ? 'length' : 'seconds',
        align: 'right',
        format: table ? (v) => formatAge(Number(v) * 1000) : undefined,
      },
      { key: 'missing', align: 'right' },
      ...(table ? [] : [{ key: 'open' } as Column<GapRow>]),
    ],
    res,
  );
}

const rawColumns: Column<RawRow>[] = [
  { key: 'time' },
  { key: 'device' },
  { key: 'metric' },
  { key: 'value', align: 'right' },
  { key: 'unit' },
];

/** Streams json, ndjson and csv row by row (in page-sized writes); a table needs every row before it can be drawn. */
export async function printRaw(
  format: RowFormat,
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
  if (format === 'ndjson') {
    let buf = '';
    for await (const r of rows) {
      buf += JSON.stringify(r) + '\n';
      if (buf.length > 65_536) {
        await writeOut(buf);
        buf = '';
      }
    }
    return writeOut(buf);
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
