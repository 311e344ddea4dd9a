// Alert volume of `iotctl anomalies` with its defaults on the four public sample data sets (../shared/data:
// hourly air quality, hourly Beijing stations, 1-minute electricity, 1-minute office), loaded with the
// README's command lines: incidents per 10,000 readings, per device (the default) and per series.
// Usage: npm run build && node bench/anomalies-datasets.js [--target server|embedded] [-- extra anomalies flags]
// env: DATA_DIR (default ../shared/data from the repository).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { iotctlIn, sets } from './_datasets.js';
import { startPostgres } from './_postgres.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const bin = path.join(repo, 'bin/iotctl.js');
const data = path.resolve(process.env.DATA_DIR ?? path.join(repo, '../shared/data'));
const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const args = dash >= 0 ? argv.slice(0, dash) : argv;
const extra = dash >= 0 ? argv.slice(dash + 1) : [];
const target = args.includes('--target') ? args[args.indexOf('--target') + 1] : 'server';

if (!fs.existsSync(data)) {
  console.log(`data sets not found (${data}): skipped`);
  process.exit(0);
}

const iotctl = iotctlIn(bin, data);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-datasets-'));
const server = target === 'server' ? await startPostgres('iotctl-bench-datasets-') : null;
const db = server ? `${server.base}/postgres` : path.join(work, 'data');
try {
  iotctl(db, ['init', '--quiet']);
  console.log(`target: ${target}; extra flags: ${extra.join(' ') || '(none)'}\n`);
  console.log(
    'data set                             | readings  | incidents (device) | per 10k | incidents (series) | per 10k | seconds',
  );
  for (const set of sets) {
    const loaded = JSON.parse(iotctl(db, ['ingest', ...set.ingest, '--json'])).loaded;
    const range = ['--since', '1990-01-01', '--until', '2100-01-01', '--device', set.devices.join(',')];
    const t = performance.now();
    const byDevice = JSON.parse(iotctl(db, ['anomalies', ...range, '--json', ...extra])).length;
    const seconds = (performance.now() - t) / 1000;
    const bySeries = JSON.parse(
      iotctl(db, ['anomalies', ...range, '--group', 'series', '--json', ...extra]),
    ).length;
    const per = (n) => ((n * 10_000) / loaded).toFixed(1).padStart(7);
    console.log(
      `${set.name.padEnd(36)} | ${String(loaded).padStart(9)} | ${String(byDevice).padStart(18)} | ${per(byDevice)} | ${String(bySeries).padStart(18)} | ${per(bySeries)} | ${seconds.toFixed(1).padStart(7)}`,
    );
  }
} finally {
  await server?.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
