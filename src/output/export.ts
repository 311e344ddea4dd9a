// What `iotctl export` writes: readings in the long form `iotctl ingest` reads back unchanged, as CSV
// (time,device_id,metric,value,unit,tags) or NDJSON, streamed page by page.
import type { ExportRow } from '../db/sql/export.js';
import { csvField, writeOut } from './render.js';

export type ExportFormat = 'csv' | 'ndjson';

const field = (text: string | null) => (text === null ? '' : csvField(text));

export function exportLine(row: ExportRow, format: ExportFormat): string {
  if (format === 'csv') {
    return `${row.time},${field(row.device_id)},${field(row.metric)},${row.value},${field(row.unit)},${field(row.tags)}\n`;
  }
  // The value is PostgreSQL's float8 text, which is valid JSON for every finite double.
  const unit = row.unit === null ? '' : `,"unit":${JSON.stringify(row.unit)}`;
  const tags = row.tags === null ? '' : `,"tags":${row.tags}`;
  return `{"time":"${row.time}","device_id":${JSON.stringify(row.device_id)},"metric":${JSON.stringify(row.metric)},"value":${row.value}${unit}${tags}}\n`;
}

/** Writes every page; returns how many readings of how many series. */
export async function writeExport(
  pages: AsyncIterable<ExportRow[]>,
  format: ExportFormat,
): Promise<{ readings: number; series: number }> {
  if (format === 'csv') await writeOut('time,device_id,metric,value,unit,tags\n');
  let readings = 0;
  let series = 0;
  let last = -1;
  for await (const page of pages) {
    let chunk = '';
    for (const row of page) {
      chunk += exportLine(row, format);
      if (row.series_id !== last) {
        series++;
        last = row.series_id;
      }
    }
    readings += page.length;
    await writeOut(chunk);
  }
  return { readings, series };
}
