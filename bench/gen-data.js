// Generates the ingest benchmark data: a long-format CSV (time,device_id,metric,value; ISO times;
// 1,000 devices x 3 metrics) and its NDJSON twin. Usage: node bench/gen-data.js [rows] [outdir]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const METRICS = ['temperature', 'humidity', 'pressure'];
const DEVICES = 1000;

/** Writes rows.csv and rows.ndjson (skipped when they exist with the same row count); returns their paths. */
export async function generate(rows, outdir = path.join(os.tmpdir(), 'iotctl-bench')) {
  fs.mkdirSync(outdir, { recursive: true });
  const csvPath = path.join(outdir, `long-${rows}.csv`);
  const ndjsonPath = path.join(outdir, `long-${rows}.ndjson`);
  if (fs.existsSync(csvPath) && fs.existsSync(ndjsonPath)) return { csvPath, ndjsonPath };
  const csv = fs.createWriteStream(csvPath + '.tmp');
  const nd = fs.createWriteStream(ndjsonPath + '.tmp');
  const write = async (stream, text) => {
    if (!stream.write(text)) await new Promise((r) => stream.once('drain', r));
  };
  await write(csv, 'time,device_id,metric,value\n');
  const start = Date.UTC(2024, 0, 1);
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  let n = 0;
  let csvBuf = '';
  let ndBuf = '';
  // Every device reports its three metrics every 10 s, in time order, as a collector would write them.
  for (let step = 0; n < rows; step++) {
    const time = new Date(start + step * 10_000).toISOString();
    for (let d = 0; d < DEVICES && n < rows; d++) {
      const device = `dev-${String(d).padStart(4, '0')}`;
      for (let m = 0; m < METRICS.length && n < rows; m++, n++) {
        const value = Math.round((20 + m * 30 + rand() * 10) * 100) / 100;
        csvBuf += `${time},${device},${METRICS[m]},${value}\n`;
        ndBuf += `{"time":"${time}","device_id":"${device}","metric":"${METRICS[m]}","value":${value}}\n`;
      }
    }
    if (csvBuf.length > 1 << 20) {
      await write(csv, csvBuf);
      await write(nd, ndBuf);
      csvBuf = ndBuf = '';
    }
  }
  await write(csv, csvBuf);
  await write(nd, ndBuf);
  await Promise.all([csv, nd].map((s) => new Promise((r) => s.end(r))));
  fs.renameSync(csvPath + '.tmp', csvPath);
  fs.renameSync(ndjsonPath + '.tmp', ndjsonPath);
  return { csvPath, ndjsonPath };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = Number(process.argv[2] ?? 5_000_000);
  const files = await generate(rows, process.argv[3]);
  process.stdout.write(`${files.csvPath}\n${files.ndjsonPath}\n`);
}
