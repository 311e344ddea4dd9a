// Citus benchmark: the same generated readings (1,000 devices x 3 metrics, long CSV) ingested and queried on
// a single plain PostgreSQL node and through a Citus coordinator, side by side in one run: the plain database
// and the Citus ones live on the coordinator's own server (same PostgreSQL, same settings), the Citus ones with
// 2 workers and with 1 (each database has its own node list, so the cluster itself is left as it is).
// Prints wall seconds, readings/s and the ratio to plain for ingest, query agg and anomalies, and the load.
// The targets take turns for --rounds rounds (each on a fresh database) and the best time of each step is
// kept: on a shared machine one slow round says more about the neighbours than about the engine.
// Usage: npm run build && IOTCTL_BENCH_CITUS_URL=postgres://user@coordinator/postgres node bench/citus.js
//          [rows=5000000] [--workers N] [--rounds 2]
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { generate } from './gen-data.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '../bin/iotctl.js');
const admin = process.env.IOTCTL_BENCH_CITUS_URL;
if (!admin) {
  process.stderr.write(
    'set IOTCTL_BENCH_CITUS_URL to a Citus coordinator (with at least one worker added)\n',
  );
  process.exit(2);
}
const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const rows = Number(args.find((a, i) => /^\d+$/.test(a) && !args[i - 1]?.startsWith('--')) ?? 5_000_000);
const workers = flag('--workers', '2');
const rounds = Number(flag('--rounds', '2'));

const withDatabase = (url, db, node) => {
  const u = new URL(url);
  u.pathname = '/' + db;
  if (node) {
    u.hostname = node.nodename;
    u.port = String(node.nodeport);
  }
  return u.toString();
};

async function onNode(url, statements) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const out = [];
    for (const s of statements) out.push((await c.query(s)).rows);
    return out;
  } finally {
    await c.end();
  }
}

const [[{ version }], nodes] = await onNode(admin, [
  "SELECT current_setting('server_version') AS version",
  "SELECT nodename, nodeport FROM pg_dist_node WHERE noderole = 'primary' AND groupid <> 0 ORDER BY nodeid",
]);
const created = [];

/** A fresh database: plain on the coordinator's server, or Citus with the first `n` workers added. */
async function database(name, n) {
  const db = `iotctl_bench_${name}_${process.pid}_${created.length}`;
  const hosts = [admin, ...nodes.slice(0, n).map((w) => withDatabase(admin, 'postgres', w))];
  for (const h of hosts) await onNode(h, [`CREATE DATABASE ${db}`]);
  created.push({ db, hosts });
  if (n > 0) {
    for (const h of hosts) await onNode(withDatabase(h, db), ['CREATE EXTENSION citus']);
    const c = new URL(admin);
    await onNode(withDatabase(admin, db), [
      `SELECT citus_set_coordinator_host('${c.hostname}', ${Number(c.port || 5432)})`,
      ...nodes.slice(0, n).map((w) => `SELECT citus_add_node('${w.nodename}', ${w.nodeport})`),
    ]);
  }
  return withDatabase(admin, db);
}

async function dropAll() {
  for (const { db, hosts } of created.splice(0))
    for (const h of hosts) await onNode(h, [`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`]).catch(() => {});
}

function iotctl(db, cmd) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, '--db', db, ...cmd], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`iotctl ${cmd.join(' ')} exited ${r.status}\n${r.stderr}`);
  return { seconds, out: r.stdout };
}

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

// Readings start 2024-01-01 at one per series every 10 s: `span` covers them all.
const span = ['--since', '2024-01-01', '--until', '2024-01-08'];
const steps = [
  ['ingest', (db, csv) => iotctl(db, ['ingest', csv, '--json', '--workers', workers])],
  [
    'query agg 1h avg,max',
    (db) => iotctl(db, ['query', 'agg', ...span, '--every', '1h', '--fn', 'avg,max', '--json']),
  ],
  [
    'anomalies robust (temperature)',
    (db) => iotctl(db, ['anomalies', '--metric', 'temperature', '--points', ...span, '--json']),
  ],
];

try {
  const { csvPath } = await generate(rows);
  process.stdout.write(
    `${rows} rows (3,000 series); PostgreSQL ${version}; ${os.cpus().length} cores; ` +
      `iotctl --workers ${workers}; Citus workers known: ${nodes.length}\n`,
  );
  const targets = [
    ['plain', 0],
    ...(nodes.length >= 2 ? [['citus, 2 workers', 2]] : []),
    ['citus, 1 worker', 1],
  ];
  const results = new Map();
  for (let round = 1; round <= rounds; round++) {
    for (const [name, n] of targets) {
      const db = await database(name.replace(/\W+/g, '_'), n);
      // No rollups: ingest writes points only, and agg and anomalies read the raw readings on every target.
      iotctl(db, ['init', '--rollups', 'none', '--quiet', n > 0 ? '--engine=citus' : '--plain']);
      const before = load();
      const res = steps.map(([step, run]) => [step, run(db, csvPath).seconds]);
      const best = results.get(name);
      results.set(name, best ? best.map(([s, t], i) => [s, Math.min(t, res[i][1])]) : res);
      process.stdout.write(
        `round ${round} ${name.padEnd(18)} ${res.map(([s, t]) => `${s} ${t.toFixed(1)} s`).join('  ')}  ` +
          `(load before ${before}, after ${load()})\n`,
      );
      await dropAll();
    }
  }
  const plain = results.get('plain');
  process.stdout.write(
    '\nstep                            ' + targets.map(([n]) => n.padStart(22)).join('') + '\n',
  );
  steps.forEach(([step], i) => {
    const cells = targets.map(([n]) => {
      const t = results.get(n)[i][1];
      const extra = i === 0 ? `${Math.round(rows / t / 1000)}k/s ` : '';
      return `${extra}${(plain[i][1] / t).toFixed(2)}x`.padStart(22);
    });
    process.stdout.write(step.padEnd(32) + cells.join('') + '\n');
  });
  process.stdout.write(`(best of ${rounds} rounds; x: speed relative to plain, > 1 is faster)\n`);
} finally {
  await dropAll();
}
