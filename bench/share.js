// Sharing the embedded database: what a command costs through a holder (`iotctl serve`) against opening
// the data directory itself; ingest through a holder against ingest that opens it; and the memory of
// `iotctl serve` while a live stdin ingest runs through it. Figures are printed side by side, never asserted.
// Usage: npm run build && node bench/share.js
//   env: ROWS=1000000 (ingest) RUNS=5 (per command) LIVE_SECONDS=600 LIVE_RATE=2000 (readings/s fed to the
//        live ingest; LIVE_SECONDS=0 skips that part)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './gen-data.js';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/iotctl.js');
const ROWS = Number(process.env.ROWS ?? 1_000_000);
const RUNS = Number(process.env.RUNS ?? 5);
const LIVE_SECONDS = Number(process.env.LIVE_SECONDS ?? 600);
const LIVE_RATE = Number(process.env.LIVE_RATE ?? 2000);

const env = { ...process.env };
for (const k of ['IOTCTL_DATABASE_URL', 'DATABASE_URL', 'PGHOST', 'PGDATABASE', 'PGSERVICE']) delete env[k];

function run(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', maxBuffer: 1 << 30 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`iotctl ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

function median(fn) {
  const samples = [];
  for (let i = 0; i < RUNS; i++) samples.push(fn());
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

const rssOf = (pid) => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
};

/** Every serve started, so that a failed run leaves none behind. */
const served = [];

/** Starts `iotctl serve` on dir and resolves once it listens. */
async function serve(dir) {
  const child = spawn(
    process.execPath,
    [bin, 'serve', '--db', dir, '--listen', '127.0.0.1:0', '--no-maintain', '-q'],
    {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  served.push(child);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const deadline = Date.now() + 60_000;
  while (!out.includes('psql')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('iotctl serve did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    pid: child.pid,
    stop: () =>
      new Promise((resolve) => {
        child.on('close', resolve);
        child.kill('SIGTERM');
      }),
  };
}

const fresh = () => fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-share-'));
const ms = (v) => `${v.toFixed(0).padStart(6)} ms`;

console.log(
  `machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
const { csvPath } = await generate(ROWS);
const dirs = [];
try {
  // 1. A command through a holder vs opening the directory (a store with the ingest data in it).
  const store = fresh();
  dirs.push(store);
  run(['init', '--db', store, '-q']);
  run(['ingest', '--db', store, csvPath, '-q']);
  const commands = [
    ['status'],
    ['query', 'latest', '--format', 'csv'],
    [
      'query',
      'agg',
      '--metric',
      'temperature',
      '--since',
      '2024-01-01',
      '--until',
      '2024-02-01',
      '--every',
      '1d',
      '--format',
      'csv',
    ],
  ];
  console.log(`\nper command, median of ${RUNS} (store: ${ROWS.toLocaleString('en-US')} readings):`);
  console.log('command                         | opens the directory | through iotctl serve | ratio');
  const own = commands.map((c) => median(() => run([...c, '--db', store]).ms));
  const holder = await serve(store);
  const shared = commands.map((c) => median(() => run([...c, '--db', store]).ms));
  await holder.stop();
  commands.forEach((c, i) =>
    console.log(
      `${c.slice(0, 2).join(' ').padEnd(31)} | ${ms(own[i]).padStart(19)} | ${ms(shared[i]).padStart(20)} | ${(shared[i] / own[i]).toFixed(2)}x`,
    ),
  );

  // 2. Ingest through a holder vs direct, each into a fresh directory.
  const direct = fresh();
  const through = fresh();
  dirs.push(direct, through);
  run(['init', '--db', direct, '-q']);
  run(['init', '--db', through, '-q']);
  const directRun = run(['ingest', '--db', direct, csvPath, '--json']);
  const h2 = await serve(through);
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(h2.pid) ?? 0)), 200);
  const viaRun = await new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [bin, 'ingest', '--db', through, csvPath, '--json'], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('close', (code) =>
      code === 0
        ? resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, stdout })
        : reject(new Error(`ingest through serve exited ${code}`)),
    );
  });
  clearInterval(sampler);
  await h2.stop();
  const loaded = (r) => JSON.parse(r.stdout).loaded;
  const rate = (r) => Math.round(loaded(r) / (r.ms / 1000));
  console.log(`\ningest ${ROWS.toLocaleString('en-US')} readings (CSV, wall time of the command):`);
  console.log(
    `direct (opens the directory):   ${ms(directRun.ms)}  ${rate(directRun).toLocaleString('en-US')} readings/s`,
  );
  console.log(
    `through iotctl serve:           ${ms(viaRun.ms)}  ${rate(viaRun).toLocaleString('en-US')} readings/s  = ${(rate(viaRun) / rate(directRun)).toFixed(2)}x direct; serve peak RSS ${peak.toFixed(0)} MB`,
  );

  // 3. The memory of serve over a live stdin ingest through it.
  if (LIVE_SECONDS > 0) {
    const liveDir = fresh();
    dirs.push(liveDir);
    run(['init', '--db', liveDir, '-q']);
    const h3 = await serve(liveDir);
    const ingest = spawn(
      process.execPath,
      [bin, 'ingest', '--db', liveDir, '-', '--input-format', 'ndjson', '-q'],
      {
        env,
        stdio: ['pipe', 'ignore', 'inherit'],
      },
    );
    const samples = [];
    const t0 = Date.now();
    let sent = 0;
    const feeder = setInterval(() => {
      let chunk = '';
      const until = Math.floor(((Date.now() - t0) / 1000) * LIVE_RATE);
      for (; sent < until; sent++) {
        const time = new Date(Date.UTC(2026, 0, 1) + sent * 100).toISOString();
        chunk += `{"time":"${time}","device_id":"live-${sent % 100}","metric":"temperature","value":${sent % 40}}\n`;
      }
      ingest.stdin.write(chunk);
    }, 100);
    const sampler3 = setInterval(() => samples.push([(Date.now() - t0) / 1000, rssOf(h3.pid)]), 10_000);
    await new Promise((r) => setTimeout(r, LIVE_SECONDS * 1000));
    clearInterval(feeder);
    clearInterval(sampler3);
    ingest.stdin.end();
    await new Promise((r) => ingest.on('close', r));
    await h3.stop();
    const rss = samples.map((s) => s[1]).filter((v) => v !== null);
    const third = Math.max(1, Math.floor(rss.length / 3));
    const avg = (a) => a.reduce((x, y) => x + y, 0) / a.length;
    console.log(
      `\nserve RSS during ${LIVE_SECONDS} s of live stdin ingest through it (${LIVE_RATE}/s, ${sent.toLocaleString('en-US')} readings): ` +
        `first ${rss[0]?.toFixed(0)} MB, min ${Math.min(...rss).toFixed(0)}, max ${Math.max(...rss).toFixed(0)}, last ${rss.at(-1)?.toFixed(0)}; ` +
        `mean of the first third ${avg(rss.slice(0, third)).toFixed(0)} MB vs the last third ${avg(rss.slice(-third)).toFixed(0)} MB`,
    );
  }
} finally {
  for (const child of served) if (child.exitCode === null) child.kill('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
}
