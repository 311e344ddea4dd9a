// What `--chart out.svg` costs: query raw, query agg and anomalies with and without it, side by side in
// the same run (wall, CPU and peak RSS of the iotctl process; medians of RUNS), on a PostgreSQL 18 server
// this script starts (plain mode). Data: SERIES devices x 1 metric, a reading every 10 s, READINGS in all.
// Usage: npm run build && node bench/chart.js      env: READINGS=1000000 SERIES=4 RUNS=3
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { startPostgres } from './_postgres.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '../bin/iotctl.js');
const maxRss = pathToFileURL(path.join(here, '_maxrss.js')).href;
const READINGS = Number(process.env.READINGS ?? 1_000_000);
const SERIES = Number(process.env.SERIES ?? 4);
const RUNS = Number(process.env.RUNS ?? 3);
const START = Date.UTC(2026, 0, 5);
const STEP = 10_000;

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function once(args) {
  const devnull = fs.openSync('/dev/null', 'w');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--import', maxRss, bin, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', devnull, 'pipe', 'pipe'],
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  fs.closeSync(devnull);
  if (r.status !== 0) throw new Error(`iotctl ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const [rss, cpu] = String(r.output[3]).split(' ').map(Number);
  return { ms, rssMb: rss / 1024, cpuMs: cpu };
}

function measure(args) {
  const runs = Array.from({ length: RUNS }, () => once(args));
  return {
    ms: median(runs.map((r) => r.ms)),
    cpuMs: median(runs.map((r) => r.cpuMs)),
    rssMb: median(runs.map((r) => r.rssMb)),
  };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-bench-chart-'));
const server = await startPostgres();
try {
  const admin = new pg.Client({ connectionString: `${server.base}/postgres` });
  await admin.connect();
  await admin.query('CREATE DATABASE bench_chart');
  await admin.end();
  const url = `${server.base}/bench_chart`;
  const db = ['--db', url];
  const perSeries = Math.ceil(READINGS / SERIES);
  const csv = path.join(tmp, 'readings.csv');
  const out = fs.createWriteStream(csv);
  out.write('time,device_id,metric,value,unit\n');
  for (let s = 0; s < SERIES; s++) {
    let buf = '';
    for (let i = 0; i < perSeries; i++) {
      const v = 20 + 5 * Math.sin((2 * Math.PI * i) / 8640) + ((i * 7919) % 13) / 10 + (i === 5000 ? 40 : 0);
      buf += `${new Date(START + i * STEP).toISOString()},dev-${s},temp,${v.toFixed(2)},C\n`;
      if (buf.length > 1 << 20) {
        if (!out.write(buf)) await new Promise((r) => out.once('drain', r));
        buf = '';
      }
    }
    out.write(buf);
  }
  await new Promise((r) => out.end(r));
  spawnSync(process.execPath, [bin, 'init', ...db, '-q'], { encoding: 'utf8' });
  const ing = spawnSync(process.execPath, [bin, 'ingest', csv, ...db, '-q'], { encoding: 'utf8' });
  if (ing.status !== 0) throw new Error(`ingest exited ${ing.status}: ${ing.stderr}`);
  spawnSync(process.execPath, [bin, 'maintain', ...db, '-q'], { encoding: 'utf8' });
  const range = [
    '--since',
    new Date(START).toISOString(),
    '--until',
    new Date(START + perSeries * STEP).toISOString(),
  ];
  const svg = path.join(tmp, 'out.svg');
  const cases = [
    ['query raw --format csv', ['query', 'raw', '--metric', 'temp', ...range, '--format', 'csv']],
    [
      'query agg --every 1m --json',
      ['query', 'agg', '--metric', 'temp', ...range, '--every', '1m', '--json'],
    ],
    [
      'anomalies --method range --max 50 --json',
      ['anomalies', '--metric', 'temp', ...range, '--method', 'range', '--max', '50', '--json'],
    ],
  ];
  console.log(
    `--chart out.svg: ${READINGS.toLocaleString('en-US')} readings, ${SERIES} series every 10 s; medians of ${RUNS}; load ${load()}`,
  );
  for (const [name, args] of cases) {
    const base = measure([...args, ...db]);
    const withChart = measure([...args, ...db, '--chart', svg]);
    const size = fs.statSync(svg).size;
    const f = (m) =>
      `${(m.ms / 1000).toFixed(2)} s, ${(m.cpuMs / 1000).toFixed(2)} s CPU, ${m.rssMb.toFixed(0)} MB`;
    console.log(`  ${name}`);
    console.log(`    without --chart   ${f(base)}`);
    console.log(
      `    --chart out.svg   ${f(withChart)}  (${(withChart.ms / base.ms).toFixed(2)}x wall, ${(withChart.rssMb / base.rssMb).toFixed(2)}x RSS; file ${(size / 1024).toFixed(0)} KiB)`,
    );
  }
  console.log(`load ${load()}`);
} finally {
  await server.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
