// Printer for `iotctl forecast`: the forecast rows (table with units, JSON, NDJSON, CSV), the fit in a few
// lines, and a terminal chart of the recent history with the forecast and its 80% interval.
import type { ForecastResult, ForecastRow } from '../query/forecast.js';
import { extent } from './chart.js';
import { log } from './log.js';
import { formatCell, printLine, printRows, renderTable, type Column, type RowFormat } from './render.js';
import { withUnit } from './query.js';
import { parseDuration } from '../util/duration.js';

/** The pinned JSON shape (history and sources are not part of it). */
export function forecastJson(res: ForecastResult) {
  return {
    device: res.device,
    metric: res.metric,
    unit: res.unit,
    every: res.every,
    season: res.season,
    horizon: res.horizon,
    since: res.since,
    until: res.until,
    params: res.params,
    fitted: res.fitted,
    rows: res.rows,
  };
}

const short = (v: number) => String(Number(v.toPrecision(3)));
const param = (v: number) => String(Number(v.toFixed(4)));

export async function printForecast(format: RowFormat, res: ForecastResult, chart: boolean): Promise<void> {
  if (chart && format !== 'table')
    log.warn(`--chart draws on table output only; ignored with --format ${format}`);
  const table = format === 'table';
  const keys = ['forecast', 'lo80', 'hi80', 'lo95', 'hi95'] as const;
  const columns: Column<ForecastRow>[] = [
    { key: 'time' },
    ...keys.map((key): Column<ForecastRow> => ({
      key,
      align: 'right',
      format: table ? withUnit(res.unit) : undefined,
    })),
  ];
  if (format === 'csv') {
    const rows = res.rows.map((r) => ({ ...r, unit: res.unit }));
    return printRows('csv', rows, [...columns, { key: 'unit' }] as Column<(typeof rows)[number]>[]);
  }
  if (!table) return printRows(format, res.rows, columns, forecastJson(res));
  await printRows('table', res.rows, columns);
  const p = res.params;
  const f = res.fitted;
  const unit = res.unit ? ` ${res.unit}` : '';
  const compared = f.candidates.length
    ? ` (chosen by AIC: ${f.candidates.map((c) => `${c.season ?? 'none'} ${Math.round(c.aic)}`).join(', ')})`
    : '';
  const summary = [
    { k: 'series', v: `${res.device} ${res.metric}` },
    {
      k: 'model',
      v: `Holt-Winters, additive, damped trend; every ${res.every}, season ${res.season ?? 'none'}${compared}`,
    },
    {
      k: 'params',
      v: `alpha ${param(p.alpha)}, beta ${param(p.beta)}, gamma ${param(p.gamma)}, phi ${param(p.phi)}`,
    },
    {
      k: 'history',
      v: `${formatCell(res.since)} to ${formatCell(res.until)}: ${f.buckets} buckets, ${f.missing} without readings`,
    },
    {
      k: 'fit',
      v: `one-step RMSE ${short(f.rmse)}${unit}, MAE ${short(f.mae)}${unit}, MASE ${f.mase === null ? '-' : short(f.mase)}`,
    },
  ];
  await printLine(
    renderTable(summary, [
      { key: 'k', header: '' },
      { key: 'v', header: '' },
    ]),
  );
  if (chart) await printLine('\n' + forecastChart(res));
}

/** The history a chart shows: the last three horizons, at least two seasons (and 24 buckets). */
export function chartHistory(res: ForecastResult): ForecastResult['history'] {
  const stepMs = res.rows.length > 1 ? res.rows[1]!.time.getTime() - res.rows[0]!.time.getTime() : 0;
  const seasonBuckets = res.season && stepMs ? Math.round(parseDuration(res.season).ms / stepMs) : 0;
  const shown = Math.min(res.history.length, Math.max(3 * res.rows.length, 2 * seasonBuckets, 24));
  return res.history.slice(res.history.length - shown);
}

/**
 * The last part of the history (three horizons, at least two seasons) and the forecast, one column per
 * time slice: `•` history, `*` forecast, `░` the 80% interval.
 */
export function forecastChart(
  res: ForecastResult,
  width = Math.max(30, Math.min(100, (process.stdout.columns ?? 80) - 16)),
  height = 12,
): string {
  const history = chartHistory(res);
  const t0 = (history[0]?.time ?? res.rows[0]!.time).getTime();
  const t1 = res.rows[res.rows.length - 1]!.time.getTime();
  const col = (t: number) =>
    t1 === t0 ? 0 : Math.min(width - 1, Math.floor(((t - t0) / (t1 - t0)) * width));
  const range = extent([
    ...history.map((h) => h.value),
    ...res.rows.flatMap((r) => [r.lo80, r.hi80, r.forecast]),
  ]);
  let lo = range?.lo ?? 0;
  let hi = range?.hi ?? 1;
  if (hi === lo) {
    lo -= 1;
    hi += 1;
  }
  const rowOf = (v: number) =>
    Math.max(0, Math.min(height - 1, Math.round(((hi - v) / (hi - lo)) * (height - 1))));
  const cells: string[][] = Array.from({ length: height }, () => Array<string>(width).fill(' '));
  for (const r of res.rows) {
    const c = col(r.time.getTime());
    for (let y = rowOf(r.hi80); y <= rowOf(r.lo80); y++) if (cells[y]![c] === ' ') cells[y]![c] = '░';
  }
  for (const h of history) if (h.value !== null) cells[rowOf(h.value)]![col(h.time.getTime())] = '•';
  for (const r of res.rows) cells[rowOf(r.forecast)]![col(r.time.getTime())] = '*';
  const labels = Array.from({ length: height }, (_, y) =>
    formatCell(Number((hi - ((hi - lo) * y) / (height - 1)).toPrecision(4))),
  );
  const pad = Math.max(...labels.map((l) => l.length));
  const lines = [
    `${res.device} ${res.metric} (avg per ${res.every}${res.unit ? `, ${res.unit}` : ''}): • history  * forecast  ░ 80% interval`,
  ];
  for (let y = 0; y < height; y++) lines.push(`${labels[y]!.padStart(pad)} ┤${cells[y]!.join('')}`);
  const start = new Date(t0).toISOString().replace(':00.000Z', 'Z');
  const end = new Date(t1).toISOString().replace(':00.000Z', 'Z');
  lines.push(`${' '.repeat(pad)} └${'─'.repeat(width)}`);
  lines.push(`${' '.repeat(pad)}  ${start}${end.padStart(Math.max(end.length + 1, width - start.length))}`);
  return lines.join('\n');
}
