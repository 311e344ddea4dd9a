// Scores `iotctl anomalies` on SKAB (the Skoltech Anomaly Benchmark, ../shared/data/skab: 35 labelled
// experiments of a water-pump testbed, 8 sensors, one reading a second) as a user would run it: each
// file ingested as one device (`--exclude anomaly,changepoint`), then `iotctl anomalies` over the whole
// range, every metric of every device, one default for all files. The incidents (as intervals) are
// scored by ../shared/tools/anomaly_score.py: NAB-style score (0 = report nothing, 100 = the first
// reading of every labelled window) and point-wise precision, recall and F1.
// SKAB is GPL-3.0: it is read from where it lies, never copied into the repository or the tests.
// Usage: npm run build && node bench/anomalies-skab.js [--target server|embedded]
//          [--methods robust,zscore,mad,iqr] [-- extra anomalies flags, e.g. --threshold 5]
// env: SKAB_DIR (default ../shared/data/skab from the repository), SCORER (anomaly_score.py).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres } from './_postgres.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const bin = path.join(repo, 'bin/iotctl.js');
const skab = path.resolve(process.env.SKAB_DIR ?? path.join(repo, '../shared/data/skab'));
const scorer = path.resolve(process.env.SCORER ?? path.join(repo, '../shared/tools/anomaly_score.py'));

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const args = dash >= 0 ? argv.slice(0, dash) : argv;
const extra = dash >= 0 ? argv.slice(dash + 1) : [];
const flag = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const target = flag('--target', 'server');
// roc and range need a step and bounds per metric (units differ), so they have no one setting to run.
const methods = flag('--methods', 'robust,zscore,mad,iqr').split(',');

if (!fs.existsSync(skab) || !fs.existsSync(scorer)) {
  console.log(`SKAB or its scorer not found (${skab}, ${scorer}): skipped`);
  process.exit(0);
}

const files = fs
  .readdirSync(skab, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) =>
    fs
      .readdirSync(path.join(skab, d.name))
      .filter((f) => f.endsWith('.csv'))
      .map((f) => `${d.name}/${f}`),
  )
  .sort();
/** `valve1/0.csv` -> device `valve1-0`, and back. */
const deviceOf = (key) => key.replace(/\.csv$/, '').replace('/', '-');
const keyOf = new Map(files.map((k) => [deviceOf(k), k]));

function iotctl(db, cmdArgs) {
  const r = spawnSync(process.execPath, [bin, ...cmdArgs, '--db', db], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`iotctl ${cmdArgs.join(' ')} exited ${r.status}\n${r.stderr}`);
  return r.stdout;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-skab-'));
const server = target === 'server' ? await startPostgres('iotctl-bench-skab-') : null;
const db = server ? `${server.base}/postgres` : path.join(work, 'data');
try {
  iotctl(db, ['init', '--quiet']);
  let t = performance.now();
  for (const key of files) {
    iotctl(db, [
      'ingest',
      path.join(skab, key),
      '--device',
      deviceOf(key),
      '--exclude',
      'anomaly,changepoint',
      '--quiet',
    ]);
  }
  const ingestSeconds = (performance.now() - t) / 1000;
  const labels = path.join(work, 'labels.json');
  const lab = spawnSync('python3', [scorer, '--skab', skab], { encoding: 'utf8', maxBuffer: 1 << 28 });
  fs.writeFileSync(labels, lab.stdout);
  const readings = Object.values(JSON.parse(lab.stdout)).reduce((n, s) => n + s.times.length * 8, 0);
  console.log(
    `SKAB: ${files.length} files, ${readings.toLocaleString('en-US')} readings, ingested in ${ingestSeconds.toFixed(1)} s on the ${target} target`,
  );
  console.log(`extra flags: ${extra.join(' ') || '(none)'}\n`);
  console.log('method   | NAB-style | F1    | precision | recall | incidents | seconds');
  for (const method of methods) {
    t = performance.now();
    const out = iotctl(db, [
      'anomalies',
      '--method',
      method,
      '--since',
      '2000-01-01',
      '--until',
      '2100-01-01',
      '--json',
      ...extra,
    ]);
    const seconds = (performance.now() - t) / 1000;
    const incidents = JSON.parse(out);
    const detections = Object.fromEntries(files.map((k) => [k, { points: [], incidents: [] }]));
    for (const i of incidents) detections[keyOf.get(i.device)].incidents.push([i.start, i.end]);
    const flags = path.join(work, `detections-${method}.json`);
    fs.writeFileSync(flags, JSON.stringify(detections));
    const scored = spawnSync('python3', [scorer, labels, flags], { encoding: 'utf8' }).stdout;
    const f1 = /point precision ([\d.]+) recall ([\d.]+) F1 ([\d.]+)/.exec(scored);
    const nab = /NAB-style score .*: (-?[\d.]+)/.exec(scored);
    console.log(
      `${method.padEnd(8)} | ${(nab?.[1] ?? '?').padStart(9)} | ${f1?.[3] ?? '?'} | ${(f1?.[1] ?? '?').padStart(9)} | ${(f1?.[2] ?? '?').padStart(6)} | ${String(incidents.length).padStart(9)} | ${seconds.toFixed(1).padStart(7)}`,
    );
    if (process.env.VERBOSE) console.log(scored);
  }
} finally {
  await server?.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
