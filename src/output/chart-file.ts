// `--chart out.svg` / `out.png`: the chart of `query agg`, `query raw`, `forecast` and `anomalies` as a
// file. Collects what the printers stream (a few points per pixel column), builds the SVG spec, writes it.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { IotctlError, usageError } from '../errors.js';
import type { Incident } from '../anomalies/incidents.js';
import type { AggRow, AggStream } from '../query/agg.js';
import type { ForecastResult } from '../query/forecast.js';
import type { RawRow } from '../query/raw.js';
import { floorToBucket } from '../util/buckets.js';
import { parseDuration } from '../util/duration.js';
import { log } from './log.js';
import { renderSvgChart, type ChartLine, type Dash, type SvgChartSpec } from './svg.js';

/** Series drawn in one chart at most; the others are counted, said on stderr and in the legend. */
export const SVG_MAX_SERIES = 10;
/** Points kept per line: the first, lowest, highest and last of each of this many time columns. */
export const CHART_COLUMNS = 1400;

export interface ChartFile {
  path: string;
  format: 'svg' | 'png';
}

/**
 * `--chart` as given: true (or absent) draws in the terminal, a path ending .svg or .png writes a file.
 * The file's directory is checked now, so a bad path fails before any database work.
 */
export function chartFileOf(flag: boolean | string | undefined): ChartFile | undefined {
  if (flag === undefined || flag === true || flag === false) return undefined;
  const ext = path.extname(flag).toLowerCase();
  if (ext !== '.svg' && ext !== '.png')
    throw usageError(
      `--chart takes a file ending .svg or .png, got '${flag}'`,
      'give --chart alone to draw in the terminal, or --chart out.svg to write a file',
    );
  const file: ChartFile = { path: flag, format: ext === '.svg' ? 'svg' : 'png' };
  try {
    const existing = fs.statSync(flag, { throwIfNoEntry: false });
    if (existing?.isDirectory()) throw Object.assign(new Error(), { code: 'EISDIR' });
    fs.accessSync(existing ? flag : path.dirname(path.resolve(flag)), fs.constants.W_OK);
  } catch (err) {
    throw chartFileError(flag, err);
  }
  if (file.format === 'png') {
    try {
      createRequire(import.meta.url).resolve('@resvg/resvg-js');
    } catch (err) {
      throw noResvg(err);
    }
  }
  return file;
}

function noResvg(err: unknown): IotctlError {
  return new IotctlError('CONFIG', '--chart out.png needs the optional package @resvg/resvg-js', {
    hint: 'install it (npm install @resvg/resvg-js) or write an .svg',
    cause: err,
  });
}

function reasonText(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return 'no such directory';
    case 'EISDIR':
      return 'it is a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EROFS':
      return 'read-only file system';
    default:
      return err.message;
  }
}

function chartFileError(file: string, err: unknown): IotctlError {
  return new IotctlError(
    'INPUT',
    `cannot write the chart file ${file}: ${reasonText(err as NodeJS.ErrnoException)}`,
    { cause: err },
  );
}

type Resvg = { new (svg: string, opts: object): { render(): { asPng(): Uint8Array } } };

/** PNG through resvg (an optional dependency: native, no browser); loaded only when a .png is asked for. */
async function svgToPng(svg: string): Promise<Uint8Array> {
  let mod: { Resvg: Resvg };
  try {
    mod = (await import('@resvg/resvg-js')) as unknown as { Resvg: Resvg };
  } catch (err) {
    throw noResvg(err);
  }
  // Twice the SVG's size, so the PNG stays sharp on a high-density screen.
  const r = new mod.Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true } });
  return r.render().asPng();
}

/** Writes (creates or overwrites) the chart and says where on stderr. */
export async function writeChartFile(file: ChartFile, spec: SvgChartSpec): Promise<void> {
  const svg = renderSvgChart(spec);
  const data = file.format === 'png' ? await svgToPng(svg) : svg;
  try {
    fs.writeFileSync(file.path, data);
  } catch (err) {
    throw chartFileError(file.path, err);
  }
  log.info(`chart written to ${file.path}`);
}

/** A line's points reduced as they arrive (in time order) to the first, lowest, highest and last per column. */
export class LineReducer {
  private readonly points: Array<{ t: number; v: number | null }> = [];
  private col = NaN;
  private cell: { first: Point; lo: Point; hi: Point; last: Point } | null = null;

  constructor(
    private readonly from: number,
    private readonly to: number,
    private readonly columns = CHART_COLUMNS,
  ) {}

  add(t: number, v: number | null): void {
    if (v === null || !Number.isFinite(v)) {
      this.flush();
      this.points.push({ t, v: null });
      this.col = NaN;
      return;
    }
    const c = this.to > this.from ? Math.floor(((t - this.from) / (this.to - this.from)) * this.columns) : 0;
    if (c !== this.col) {
      this.flush();
      this.col = c;
    }
    const p = { t, v };
    const cell = this.cell;
    if (!cell) this.cell = { first: p, lo: p, hi: p, last: p };
    else {
      if (v < cell.lo.v) cell.lo = p;
      if (v > cell.hi.v) cell.hi = p;
      cell.last = p;
    }
  }

  finish(): Array<{ t: number; v: number | null }> {
    this.flush();
    return this.points;
  }

  private flush(): void {
    if (!this.cell) return;
    const { first, lo, hi, last } = this.cell;
    const kept = [...new Set([first, lo, hi, last])].sort((a, b) => a.t - b.t);
    this.points.push(...kept);
    this.cell = null;
  }
}

type Point = { t: number; v: number };

interface SeriesLines {
  device: string;
  metric: string;
  unit: string | null;
  lines: Map<string, LineReducer>;
}

/** Points of up to SVG_MAX_SERIES series (in the order they come), the rest counted. */
export class SeriesCollector {
  readonly series = new Map<string, SeriesLines>();
  private readonly others = new Set<string>();

  constructor(
    private readonly from: number,
    private readonly to: number,
    private readonly maxSeries = SVG_MAX_SERIES,
  ) {}

  add(device: string, metric: string, unit: string | null, line: string, t: number, v: number | null): void {
    const key = `${device}\u0000${metric}`;
    let s = this.series.get(key);
    if (!s) {
      if (this.series.size >= this.maxSeries) {
        this.others.add(key);
        return;
      }
      s = { device, metric, unit, lines: new Map() };
      this.series.set(key, s);
    }
    let l = s.lines.get(line);
    if (!l) s.lines.set(line, (l = new LineReducer(this.from, this.to)));
    l.add(t, v);
  }

  /** Series left out that the collector never saw (the caller chose what to read). */
  notRead = 0;

  get notDrawn(): number {
    return this.others.size + this.notRead;
  }

  /** One chart line per series and line name; a series keeps its colour across its lines. */
  lines(order: string[], withUnits: boolean): ChartLine[] {
    const dashes: Dash[] = ['solid', 'dashed', 'dotted'];
    const out: ChartLine[] = [];
    for (const [key, s] of this.series) {
      const names = order.filter((n) => s.lines.has(n));
      for (const name of names) {
        const unit = withUnits && s.unit ? ` (${s.unit})` : '';
        out.push({
          key,
          label: `${s.device} ${s.metric}${name ? ` ${name}` : ''}${unit}`,
          dash: dashes[order.indexOf(name) % dashes.length],
          points: (s.lines.get(name) as LineReducer).finish(),
        });
      }
    }
    return out;
  }

  units(): Array<string | null> {
    return [...this.series.values()].map((s) => s.unit);
  }

  /** Said on stderr once the chart is drawn: the cap, and how to narrow. */
  warnNotDrawn(): void {
    if (this.notDrawn > 0)
      log.warn(
        `--chart: drew ${this.series.size} of ${this.series.size + this.notDrawn} series; narrow with --device or --metric`,
      );
  }
}

const iso = (d: Date | number) => new Date(d).toISOString().replace(':00.000Z', 'Z').replace('.000Z', 'Z');
const range = (since: Date | number, until: Date | number) => `${iso(since)} to ${iso(until)}`;

/** "temperature on hall-1", "temperature", "3 metrics": what the drawn series have in common. */
function titleOf(series: Iterable<{ device: string; metric: string }>, what: string): string {
  const list = [...series];
  const metrics = [...new Set(list.map((s) => s.metric))];
  const devices = [...new Set(list.map((s) => s.device))];
  const m = metrics.length === 1 ? metrics[0] : metrics.length ? `${metrics.length} metrics` : 'no series';
  return `${m}${devices.length === 1 ? ` on ${devices[0]}` : ''}: ${what}`;
}

/** The aggregates drawn: every one but `count` (another unit), or `count` alone when it is the only one. */
export const chartedFns = (fns: string[]) =>
  fns.some((f) => f !== 'count') ? fns.filter((f) => f !== 'count') : fns;

export interface StreamChart<T> {
  /** The stream to hand the printer: the same rows, seen by the chart on the way. */
  rows: T;
  write(): Promise<void>;
}

/** `query agg --chart out.svg`: the drawn aggregates of each series per bucket, from the streamed pages. */
export function aggChart(res: AggStream, file: ChartFile): StreamChart<AggStream> {
  const fns = chartedFns(res.fns);
  const everyMs = parseDuration(res.every).ms;
  const from = floorToBucket(res.since.getTime(), everyMs);
  const to = res.until.getTime();
  const collector = new SeriesCollector(from, to);
  async function* pages(): AsyncGenerator<AggRow[]> {
    for await (const page of res.pages) {
      for (const r of page)
        for (const fn of fns) {
          const v = r[fn];
          collector.add(
            r.device,
            r.metric,
            r.unit,
            fn,
            r.time.getTime(),
            v === null || v === undefined ? null : Number(v),
          );
        }
      yield page;
    }
  }
  return {
    rows: { ...res, pages: pages() },
    write: async () => {
      const units = collector.units();
      await writeChartFile(file, {
        title: titleOf(collector.series.values(), `${fns.join(', ')} per ${res.every}`),
        subtitle: range(res.since, res.until),
        units: units.length ? units : [null],
        yLabel: fns.length === 1 ? `${fns[0]} per ${res.every}` : `per ${res.every}`,
        domain: { from, to },
        lines: collector.lines(fns, new Set(units).size > 1),
        notDrawn: collector.notDrawn,
      });
      collector.warnNotDrawn();
    },
  };
}

/** `query raw --chart out.svg`: each series' readings, from the streamed rows. */
export function rawChart(
  rows: AsyncIterable<RawRow>,
  header: { since: Date; until: Date },
  file: ChartFile,
): StreamChart<AsyncIterable<RawRow>> {
  const collector = new SeriesCollector(header.since.getTime(), header.until.getTime());
  async function* seen(): AsyncGenerator<RawRow> {
    for await (const r of rows) {
      collector.add(r.device, r.metric, r.unit, '', r.time.getTime(), r.value);
      yield r;
    }
  }
  return {
    rows: seen(),
    write: async () => {
      const units = collector.units();
      await writeChartFile(file, {
        title: titleOf(collector.series.values(), 'readings'),
        subtitle: range(header.since, header.until),
        units: units.length ? units : [null],
        yLabel: 'value',
        domain: { from: header.since.getTime(), to: header.until.getTime() },
        lines: collector.lines([''], new Set(units).size > 1),
        notDrawn: collector.notDrawn,
      });
      collector.warnNotDrawn();
    },
  };
}

/** `forecast --chart out.svg`: the recent history, the forecast and its 80% and 95% intervals. */
export function forecastChartSpec(
  res: ForecastResult,
  history: Array<{ time: Date; value: number | null }>,
): SvgChartSpec {
  const key = `${res.device} ${res.metric}`;
  const first = history[0]?.time ?? res.rows[0]?.time ?? res.until;
  const last = res.rows[res.rows.length - 1]?.time ?? res.until;
  // The forecast line starts at the last bucket of history, so the two join.
  const lastSeen = [...history].reverse().find((h) => h.value !== null);
  const joined = lastSeen ? [{ t: lastSeen.time.getTime(), v: lastSeen.value }] : [];
  return {
    title: `${res.device} ${res.metric}: forecast ${res.horizon} ahead`,
    subtitle: `avg per ${res.every}; Holt-Winters, additive, damped trend, season ${res.season ?? 'none'}; from ${iso(res.until)}`,
    units: [res.unit],
    yLabel: `avg per ${res.every}`,
    domain: { from: first.getTime(), to: last.getTime() },
    lines: [
      { key, label: 'history', points: history.map((h) => ({ t: h.time.getTime(), v: h.value })) },
      {
        key,
        label: 'forecast',
        dash: 'dashed',
        points: [...joined, ...res.rows.map((r) => ({ t: r.time.getTime(), v: r.forecast }))],
      },
    ],
    bands: [
      {
        key,
        label: '95% interval',
        opacity: 0.12,
        points: res.rows.map((r) => ({ t: r.time.getTime(), lo: r.lo95, hi: r.hi95 })),
      },
      {
        key,
        label: '80% interval',
        opacity: 0.25,
        points: res.rows.map((r) => ({ t: r.time.getTime(), lo: r.lo80, hi: r.hi80 })),
      },
    ],
  };
}

export interface AnomalyChartData {
  since: Date;
  until: Date;
  method: string;
  /** The readings of the drawn series (SeriesCollector over [since, until)). */
  readings: SeriesCollector;
  incidents: Incident[];
  flagged: Array<{ time: number; device: string; metric: string; value: number }>;
}

/** `anomalies --chart out.svg`: the drawn series' readings, their incidents shaded, flagged readings marked. */
export function anomaliesChartSpec(d: AnomalyChartData): SvgChartSpec {
  const drawn = d.readings.series;
  const keyOf = (device: string, metric: string) => `${device}\u0000${metric}`;
  const units = d.readings.units();
  const lines = d.readings.lines([''], new Set(units).size > 1);
  // An incident of a device (its metrics merged) is shaded in the colour of its peak's series.
  const incidents = d.incidents.filter((i) => i.metrics.some((m) => drawn.has(keyOf(i.device, m))));
  const spans = incidents.map((i) => {
    const metric = drawn.has(keyOf(i.device, i.peakMetric))
      ? i.peakMetric
      : (i.metrics.find((m) => drawn.has(keyOf(i.device, m))) as string);
    return {
      key: keyOf(i.device, metric),
      label: `${i.device} ${i.metrics.join(', ')}: ${iso(i.start)} to ${iso(i.end)} (${i.kinds.join(', ')})`,
      from: i.start,
      to: i.end,
    };
  });
  const markers = d.flagged
    .filter((f) => drawn.has(keyOf(f.device, f.metric)))
    .map((f) => ({ key: keyOf(f.device, f.metric), t: f.time, v: f.value }));
  return {
    title: titleOf(drawn.values(), `anomalies (${d.method})`),
    subtitle: range(d.since, d.until),
    units: units.length ? units : [null],
    yLabel: 'value',
    domain: { from: d.since.getTime(), to: d.until.getTime() },
    lines,
    spans,
    spanLabel: `incidents (${spans.length})`,
    markers,
    markerLabel: `flagged readings (${markers.length})`,
    notDrawn: d.readings.notDrawn,
  };
}
