// Printers for `iotctl anomalies`: incidents (a table with a sparkline of each, or a JSON array) and,
// with --points, the flagged readings.
import type { AnomaliesResult, AnomalyRow, IncidentsResult } from '../anomalies/detect.js';
import type { Incident } from '../anomalies/incidents.js';
import { formatAge } from '../util/duration.js';
import { sparkline } from './chart.js';
import { printRows, type Column, type RowFormat } from './render.js';

const withUnit = (v: unknown, unit: string | null) =>
  v === null || v === undefined ? '' : `${Number(Number(v).toPrecision(6))}${unit ? ` ${unit}` : ''}`;
const score = (v: unknown) => (v === null || v === undefined ? '' : String(Number(Number(v).toPrecision(4))));

export function printAnomalies(format: RowFormat, res: AnomaliesResult): Promise<void> {
  const table = format === 'table';
  const unit = (v: unknown, r: AnomalyRow) => withUnit(v, r.unit);
  return printRows(
    format,
    res.rows,
    [
      { key: 'time' },
      { key: 'device' },
      { key: 'metric' },
      { key: 'value', align: 'right', format: table ? unit : undefined },
      { key: 'baseline', align: 'right', format: table ? unit : undefined },
      { key: 'score', align: 'right', format: table ? score : undefined },
      { key: 'method' },
      ...(table ? [] : [{ key: 'unit' } as Column<AnomalyRow>]),
    ],
    res,
  );
}

/** The pinned JSON shape of one incident. */
export interface IncidentJson {
  device: string;
  metrics: string[];
  start: string;
  end: string;
  detected: string;
  durationSeconds: number;
  peakTime: string;
  peakMetric: string;
  peakValue: number;
  unit: string | null;
  score: number | null;
  readings: number;
  kinds: string[];
  ongoing: boolean;
  method: string;
}

const csvKeys = [
  'device',
  'metrics',
  'start',
  'end',
  'detected',
  'durationSeconds',
  'peakTime',
  'peakMetric',
  'peakValue',
  'unit',
  'score',
  'readings',
  'kinds',
  'ongoing',
  'method',
] as const;

export function incidentJson(i: Incident, method: string): IncidentJson {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    device: i.device,
    metrics: i.metrics,
    start: iso(i.start),
    end: iso(i.end),
    detected: iso(i.detected),
    durationSeconds: (i.end - i.start) / 1000,
    peakTime: iso(i.peakTime),
    peakMetric: i.peakMetric,
    peakValue: i.peakValue,
    unit: i.unit,
    score: i.score,
    readings: i.readings,
    kinds: i.kinds,
    ongoing: i.ongoing,
    method,
  };
}

export function printIncidents(format: RowFormat, res: IncidentsResult): Promise<void> {
  if (format === 'json' || format === 'ndjson') {
    const incidents = res.incidents.map((i) => incidentJson(i, res.method));
    return printRows(format, incidents, []);
  }
  const rows = res.incidents.map((i) => ({ ...incidentJson(i, res.method), trend: sparkline(i.trace) }));
  type Row = (typeof rows)[number];
  if (format === 'csv') {
    const flat = rows.map((r) => ({ ...r, metrics: r.metrics.join(' '), kinds: r.kinds.join(' ') }));
    return printRows(
      'csv',
      flat,
      csvKeys.map((key) => ({ key })),
    );
  }
  const columns: Column<Row>[] = [
    { key: 'device' },
    { key: 'metrics', format: (v) => (v as string[]).join(', ') },
    { key: 'start' },
    { key: 'end', format: (v, r) => `${String(v)}${r.ongoing ? ' (ongoing)' : ''}` },
    {
      key: 'durationSeconds',
      header: 'duration',
      align: 'right',
      format: (v) => formatAge(Number(v) * 1000),
    },
    { key: 'peakTime', header: 'peak at' },
    {
      key: 'peakValue',
      header: 'peak',
      align: 'right',
      format: (v, r) => `${withUnit(v, r.unit)} ${r.peakMetric}`,
    },
    { key: 'score', align: 'right', format: score },
    { key: 'readings', align: 'right' },
    { key: 'kinds', header: 'kind', format: (v) => (v as string[]).join(', ') },
    { key: 'method' },
    { key: 'trend', header: 'readings around' },
  ];
  return printRows('table', rows, columns);
}
