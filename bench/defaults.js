// Store sizes of the four public sample data sets under iotctl's defaults and under the store `advise`
// suggests for them, side by side: the readings (compressed), each rollup, the total.
// Usage: npm run build && IOTCTL_SAMPLE_DATA=DIR [IOTCTL_BENCH_TSDB_URL=postgres://...] node bench/defaults.js
//   DIR holds uci_air_quality/, beijing_air_quality/, ampds2_electricity/, uci_occupancy/ (fixtures/README.md).
// Each store is loaded with the README's four ingest lines, through the CLI, into a fresh embedded data
// directory (or a fresh database on the TimescaleDB server). Stages of the default store:
//   default, rollups uncompressed   init; ingest; rollup refresh; compress run   (the defaults before rollup compression)
//   default init                    ... then maintain --force (runs the rollups' compression policies)
//   init --cadence 1h               init --cadence 1h; ingest; maintain --force; compress run
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sets } from './_datasets.js';
import { tsdbServer } from './_postgres.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '../bin/iotctl.js');
const DATA = process.env.IOTCTL_SAMPLE_DATA ? path.resolve(process.env.IOTCTL_SAMPLE_DATA) : null;
const tsdb = tsdbServer();

// The README's four ingest lines, as the other benches on the sample sets use them.
const INGESTS = sets.map((s) => s.ingest);

const mb = (b) => `${(b / 1048576).toFixed(1)} MB`;

function iotctl(db, args, ok = [0]) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [bin, '--db', db, ...args], {
    cwd: DATA,
    encoding: 'utf8',
    maxBuffer: 256 * 2 ** 20,
  });
  if (!ok.includes(r.status)) throw new Error(`iotctl ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { out: r.stdout, err: r.stderr, seconds: (Date.now() - t0) / 1000 };
}

/** Readings (compressed where compressed), each rollup, and their total, from `stats --json`. */
function sizes(db) {
  const s = JSON.parse(iotctl(db, ['stats', '--json', '--top', '1']).out);
  const rollups = Object.fromEntries(s.rollups.map((r) => [r.name, r.bytes]));
  const raw = s.totals.bytesAfter;
  return {
    chunks: s.totals.chunks,
    raw,
    rawBefore: s.totals.bytesBefore,
    rollups,
    total: raw + Object.values(rollups).reduce((a, b) => a + b, 0),
  };
}

async function store(name) {
  if (tsdb) return tsdb.database(`defaults_${name}`);
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-bench-defaults-')), name);
}

function load(db, initArgs) {
  iotctl(db, ['init', ...initArgs]);
  let seconds = 0;
  let analyse = 0;
  for (const args of INGESTS) {
    const r = iotctl(db, ['-v', 'ingest', ...args]);
    seconds += r.seconds;
    const m = /analysed \d+ chunk\(s\) written to in ([\d.]+) s/.exec(r.err);
    if (m) analyse += Number(m[1]);
  }
  return { seconds, analyse };
}

async function main() {
  if (!DATA) {
    console.log('bench/defaults.js: set IOTCTL_SAMPLE_DATA to the folder holding the four sample data sets');
    return;
  }
  const rows = [];
  const a = await store('default');
  const la = load(a, []);
  const rowsAfterIngest = /rows \(estimate\)\s*│\s*(\d+)/.exec(iotctl(a, ['status'], [0, 5]).out)?.[1];
  console.log(
    `default init: four ingests ${la.seconds.toFixed(0)} s, of which analysing written chunks ${la.analyse.toFixed(1)} s; status right after: ${rowsAfterIngest} rows`,
  );
  iotctl(a, ['rollup', 'refresh']);
  console.log(iotctl(a, ['advise']).out);
  iotctl(a, ['compress', 'run', '--older-than', '1ms']);
  rows.push(['default init, rollups uncompressed (before)', sizes(a)]);
  // --force: on a server the scheduler may have run the rollups' compression policies while they were still
  // empty, and maintain would then wait for their next run.
  iotctl(a, ['maintain', '--force']);
  rows.push(['default init (rollups compressed)', sizes(a)]);

  const b = await store('cadence');
  const lb = load(b, ['--cadence', '1h']);
  console.log(
    `init --cadence 1h: four ingests ${lb.seconds.toFixed(0)} s, analysing ${lb.analyse.toFixed(1)} s`,
  );
  iotctl(b, ['maintain', '--force']);
  iotctl(b, ['compress', 'run', '--older-than', '1ms']);
  rows.push(['init --cadence 1h', sizes(b)]);
  console.log(iotctl(b, ['advise']).out);

  const names = [...new Set(rows.flatMap(([, s]) => Object.keys(s.rollups)))].sort(
    (x, y) => parseInt(x.slice(7)) * unit(x) - parseInt(y.slice(7)) * unit(y),
  );
  console.log(
    `| store | chunks | readings (uncompressed → compressed) | ${names.join(' | ')} | total |\n| --- | ---: | ---: | ${names.map(() => '---:').join(' | ')} | ---: |`,
  );
  for (const [label, s] of rows) {
    const cells = names.map((n) => (n in s.rollups ? mb(s.rollups[n]) : '–'));
    const ratio = (s.rawBefore / s.raw).toFixed(1);
    console.log(
      `| ${label} | ${s.chunks} | ${mb(s.rawBefore)} → ${mb(s.raw)} (${ratio}×) | ${cells.join(' | ')} | ${mb(s.total)} |`,
    );
  }
}

function unit(name) {
  return { m: 1, h: 60, d: 1440, w: 10080 }[name.slice(-1)] ?? 1;
}

await main();
