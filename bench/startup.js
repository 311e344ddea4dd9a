// Start-up cost: `iotctl --help` (must not load pg or PGlite), and the embedded commands next to the bare open
// of the same data directory (PGlite start + LOAD 'timescaledb' + SELECT 1: the floor no command goes below).
// Usage: npm run build && node bench/startup.js [runs]
//        IOTCTL_BENCH_DATA_DIR=DIR node bench/startup.js [runs]   an existing store (e.g. the four sample sets);
//                                                                 only read, never changed
// Cases run interleaved, one of each per round, so load from other work spreads over all of them alike;
// compare the ratios to the bare open, which come from the same run.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '../bin/iotctl.js');
const embedded = pathToFileURL(path.resolve(here, '../dist/db/embedded.js')).href;
const maxRss = pathToFileURL(path.join(here, '_maxrss.js')).href;
const runs = Number(process.argv[2] ?? 10);
const given = process.env.IOTCTL_BENCH_DATA_DIR;

const bareOpen = `const { openEmbeddedDb } = await import(${JSON.stringify(embedded)});
const dir = process.argv[1];
const db = await openEmbeddedDb({ kind: 'embedded', dataDir: dir, display: dir, source: 'bench', secrets: [] });
await db.query('SELECT 1');
await db.close();`;

/** One run: wall ms, and the child's peak RSS (MB) and CPU time (ms) that _maxrss.js writes to fd 3. */
function once(args, okCodes = [0]) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--import', maxRss, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    maxBuffer: 64 * 2 ** 20,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (!okCodes.includes(r.status)) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const [rss, cpu] = String(r.output[3]).split(' ').map(Number);
  return { ms, rssMb: rss / 1024, cpuMs: cpu };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const dir = given ?? fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-bench-'));
try {
  if (!given) spawnSync(process.execPath, [bin, 'init', '--db', dir, '-q']);
  const db = ['--db', dir];
  // status and jobs exit 5 when a job is failing: still a run to time.
  const cases = [
    ['node -e 0 (bare Node start)', ['-e', '0']],
    ['iotctl --help', [bin, '--help']],
    ["bare open (PGlite + LOAD 'timescaledb' + SELECT 1)", ['--input-type=module', '-e', bareOpen, dir]],
    ['iotctl status', [bin, 'status', ...db], [0, 5]],
    ['iotctl stats', [bin, 'stats', ...db]],
    ['iotctl jobs', [bin, 'jobs', ...db], [0, 5]],
    ['iotctl query latest', [bin, 'query', 'latest', ...db]],
  ];
  console.log(
    `machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}; ` +
      `load average ${load()} (1, 5, 15 min)`,
  );
  console.log(`store: ${given ? dir : 'a new, empty store (init only)'}; ${runs} runs of each, interleaved`);
  const samples = cases.map(() => []);
  for (let i = 0; i < runs; i++) {
    cases.forEach(([, args, ok], c) => samples[c].push(once(args, ok)));
  }
  const bare = median(samples[2].map((s) => s.ms));
  const bareCpu = median(samples[2].map((s) => s.cpuMs));
  const width = Math.max(...cases.map(([name]) => name.length));
  for (const [c, [name]] of cases.entries()) {
    const ms = samples[c].map((s) => s.ms);
    const cpu = median(samples[c].map((s) => s.cpuMs));
    const ratio = c >= 2 ? ` (${(median(ms) / bare).toFixed(2)}× bare open)` : '';
    const cpuRatio = c >= 2 ? ` (${(cpu / bareCpu).toFixed(2)}×)` : '';
    console.log(
      `${name.padEnd(width)}  median ${median(ms).toFixed(0).padStart(5)} ms${ratio}, ` +
        `min ${Math.min(...ms).toFixed(0)}, max ${Math.max(...ms).toFixed(0)}; ` +
        `CPU ${cpu.toFixed(0)} ms${cpuRatio}; peak RSS ${median(samples[c].map((s) => s.rssMb)).toFixed(0)} MB`,
    );
  }
  console.log(`load average at the end: ${load()}`);
} finally {
  if (!given) fs.rmSync(dir, { recursive: true, force: true });
}
