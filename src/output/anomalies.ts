// Printer for `iotctl anomalies`: flagged readings with units in tables, bare numbers in json/csv.
import type { AnomaliesResult, AnomalyRow } from '../anomalies/detect.js';
import { printRows, type Column, type Format } from './render.js';

export function printAnomalies(format: Format, res: AnomaliesResult): Promise<void> {
  const table = format === 'table';
  const unit = (v: unknown, r: AnomalyRow) =>
    v === null || v === undefined ? '' : `${Number(Number(v).toPrecision(6))}${r.unit ? ` ${r.unit}` : ''}`;
  return printRows(
    format,
    res.rows,
    [
      { key: 'time' },
      { key: 'device' },
      { key: 'metric' },
      { key: 'value', align: 'right', format: table ? unit : undefined },
      { key: 'baseline', align: 'right', format: table ? unit : undefined },
      {
        key: 'score',
        align: 'right',
        format: table ? (v) => (v === null ? '' : String(Number(Number(v).toPrecision(4)))) : undefined,
      },
      { key: 'method' },
      ...(table ? [] : [{ key: 'unit' } as Column<AnomalyRow>]),
    ],
    res,
  );
}
