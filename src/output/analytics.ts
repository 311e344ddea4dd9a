// Printers for `query profile` and `query corr`: tables with units and a sparkline per profile, JSON,
// NDJSON and CSV rows as the data functions return them.
import type { CorrResult, CorrRow } from '../query/corr.js';
import type { ProfileResult, ProfileRow } from '../query/profile.js';
import { formatDurationMs } from '../util/duration.js';
import { extent, sparkline } from './chart.js';
import { groupBySeries, withUnit } from './query.js';
import { printRows, type Column, type RowFormat } from './render.js';

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export async function printProfile(format: RowFormat, res: ProfileResult): Promise<void> {
  const table = format === 'table';
  const value = (key: 'p25' | 'median' | 'p75'): Column<ProfileRow> => ({
    key,
    align: 'right',
    format: table ? (v, r) => withUnit(r.unit)(v) : undefined,
  });
  const columns: Column<ProfileRow>[] = [
    { key: 'device' },
    { key: 'metric' },
    {
      key: res.by,
      align: 'right',
      format: table && res.by === 'weekday' ? (v) => WEEKDAYS[Number(v) - 1] ?? '' : undefined,
    },
    value('p25'),
    value('median'),
    value('p75'),
    { key: 'hours', align: 'right' },
    ...(table ? [] : [{ key: 'unit' } as Column<ProfileRow>]),
  ];
  const { sources: _sources, warnings: _warnings, ...json } = res;
  await printRows(format, res.rows, columns, json);
  if (!table || !res.rows.length) return;
  const summary = [...groupBySeries(res.rows).values()].map((list) => {
    const medians = list.map((r) => r.median);
    const range = extent(medians);
    return {
      device: list[0]!.device,
      metric: list[0]!.metric,
      unit: list[0]!.unit,
      low: range?.lo ?? null,
      high: range?.hi ?? null,
      shape: sparkline(medians, 24),
    };
  });
  type S = (typeof summary)[number];
  const first = res.by === 'hour' ? '0' : 'Mon';
  const last = res.by === 'hour' ? '23' : 'Sun';
  await printRows('table', summary, [
    { key: 'device' },
    { key: 'metric' },
    { key: 'low', header: 'lowest median', align: 'right', format: (v, r) => withUnit(r.unit)(v) },
    { key: 'high', header: 'highest median', align: 'right', format: (v, r) => withUnit(r.unit)(v) },
    { key: 'shape', header: `median by ${res.by} (${first}-${last}, ${res.tz})` },
  ] as Column<S>[]);
}

const signedLag = (seconds: unknown) =>
  seconds === null || seconds === undefined
    ? ''
    : seconds === 0
      ? '0'
      : `${Number(seconds) < 0 ? '-' : '+'}${formatDurationMs(Math.abs(Number(seconds)) * 1000)}`;

const r4 = (v: unknown) => (v === null || v === undefined ? '' : Number(v).toFixed(4));

export function printCorr(format: RowFormat, res: CorrResult): Promise<void> {
  const table = format === 'table';
  const columns: Column<CorrRow>[] = [
    { key: 'deviceA', header: table ? 'device a' : undefined },
    { key: 'metricA', header: table ? 'metric a' : undefined },
    { key: 'deviceB', header: table ? 'device b' : undefined },
    { key: 'metricB', header: table ? 'metric b' : undefined },
    { key: 'n', align: 'right' },
    { key: 'r', align: 'right', format: table ? r4 : undefined },
  ];
  // Without --max-lag the best lag is lag 0: a table leaves the repeated columns out.
  if (!table || res.maxLag)
    columns.push(
      {
        key: 'bestLagSeconds',
        header: table ? 'best lag (b after a)' : undefined,
        align: 'right',
        format: table ? signedLag : undefined,
      },
      {
        key: 'bestR',
        header: table ? 'r at best lag' : undefined,
        align: 'right',
        format: table ? r4 : undefined,
      },
      { key: 'bestN', header: table ? 'n at best lag' : undefined, align: 'right' },
    );
  const { sources: _sources, warnings: _warnings, ...json } = res;
  return printRows(format, res.rows, columns, json);
}
