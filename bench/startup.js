// Start-up cost: `iotctl --help` (must not load pg or PGlite) and `iotctl status` on the embedded database.
// Usage: npm run build && node bench/startup.js [runs]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/iotctl.js');
const runs = Number(process.argv[2] ?? 10);

function time(args, env = {}) {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [bin, ...args], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0) throw new Error(`iotctl ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  }
  samples.sort((a, b) => a - b);
  return {
    median: samples[Math.floor(samples.length / 2)],
    min: samples[0],
    max: samples[samples.length - 1],
  };
}

const fmt = (s) => `median ${s.median.toFixed(0)} ms (min ${s.min.toFixed(0)}, max ${s.max.toFixed(0)})`;
const baseline = (() => {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0']);
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
})();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-bench-'));
try {
  console.log(
    `machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
  );
  console.log(`node -e 0 (bare Node start):        median ${baseline.toFixed(0)} ms`);
  console.log(`iotctl --help:                      ${fmt(time(['--help']))}`);
  spawnSync(process.execPath, [bin, 'init', '--db', dir, '-q']);
  console.log(`iotctl status (embedded, first run after init): ${fmt(time(['status', '--db', dir]))}`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
