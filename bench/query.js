// Times `query agg` against the floor (a plain SELECT of the rows of the sources it chose) and against the
// same aggregate from raw data, and `anomalies` per method.
// Data: DEVICES devices x 1 metric, one reading every INTERVAL_MIN minutes for DAYS days up to now; rollups
// 1m, 1h, 1d filled the way `iotctl maintain` fills them (plain mode: with SQL, watermark included;
// TimescaleDB: refresh_continuous_aggregate). Figures are printed, never asserted.
// Usage: npm run build && node bench/query.js
//   env: DEVICES=1000 DAYS=30 INTERVAL_MIN=5 RUNS=3 ANOMALY_DAYS=$DAYS (0: no anomaly timings)
//        ANOMALIES_ONLY=1  skip the rollup fill and the agg timings
//        BENCH_TARGET=server (default: a PostgreSQL 18 server this script starts, plain mode)
//                   | embedded (a temporary embedded data directory: PGlite with TimescaleDB)
//        BENCH_DATABASE_URL=postgres://user@host/db  an existing server instead (e.g. TimescaleDB): the
//                   script creates the database iotctl_bench_query there and drops it afterwards
//        KEEP=1     keep that database (or data directory) and reuse it when it holds the same data
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { startPostgres } from './_postgres.js';
import { anomalies } from '../dist/anomalies/detect.js';
import { init, parseRollups } from '../dist/maintenance/init.js';
import { planAgg, runAgg, streamAgg } from '../dist/query/agg.js';
import { aggCsvCopy, aggCsvLines, streamAggCsv } from '../dist/query/agg-csv.js';
import { LINE_SETTINGS, inlineParams } from '../dist/db/sql/agg-lines.js';
import { printAgg, printAggCsv } from '../dist/output/query.js';
import { openDb } from '../dist/db/connect.js';
import { loadStore } from '../dist/db/store.js';
import { parseDuration } from '../dist/util/duration.js';

const DEVICES = Number(process.env.DEVICES ?? 1000);
const DAYS = Number(process.env.DAYS ?? 30);
const INTERVAL_MIN = Number(process.env.INTERVAL_MIN ?? 5);
const RUNS = Number(process.env.RUNS ?? 3);
const KEEP = process.env.KEEP === '1';
const TARGET = process.env.BENCH_DATABASE_URL ? 'url' : (process.env.BENCH_TARGET ?? 'server');
const BENCH_DB = 'iotctl_bench_query';

const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;
async function timed(fn) {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}
/** Median of RUNS runs. */
async function median(fn) {
  const times = [];
  let value;
  for (let i = 0; i < RUNS; i++) {
    const r = await timed(fn);
    times.push(r.ms);
    value = r.value;
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], value };
}

async function adminQuery(url, text) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

/** Opens the bench database: `db` and a `cleanup` that removes what this run created (unless KEEP). */
async function openTarget() {
  const dataKey = `${DEVICES}x${DAYS}d-${INTERVAL_MIN}m`;
  if (TARGET === 'embedded') {
    const dir = KEEP
      ? path.join(os.tmpdir(), 'iotctl-bench', `query-embedded-${dataKey}`)
      : fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-bench-query-'));
    fs.mkdirSync(dir, { recursive: true });
    const db = await openDb({ db: dir });
    return { db, cleanup: async () => KEEP || fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const server = TARGET === 'server' ? await startPostgres('iotctl-bench-query-') : null;
  const admin = server ? `${server.base}/postgres` : process.env.BENCH_DATABASE_URL;
  const exists = await adminQuery(admin, `SELECT 1 FROM pg_database WHERE datname = '${BENCH_DB}'`);
  if (exists.rowCount === 0) await adminQuery(admin, `CREATE DATABASE ${BENCH_DB}`);
  const url = new URL(admin);
  url.pathname = `/${BENCH_DB}`;
  const db = await openDb({ db: url.toString() });
  return {
    db,
    cleanup: async () => {
      if (!KEEP) await adminQuery(admin, `DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`);
      await server?.stop();
    },
  };
}

/** The data this run asks for, as recorded in iotctl.meta by the run that loaded it. */
const wanted = { devices: DEVICES, days: DAYS, intervalMin: INTERVAL_MIN };

async function loadData(db) {
  const stored = await db
    .query(`SELECT value FROM iotctl.meta WHERE key = 'bench'`)
    .then((r) => r.rows[0]?.value)
    .catch(() => undefined);
  if (stored && Object.entries(wanted).every(([k, v]) => stored[k] === v)) {
    console.log(`data: reusing the data loaded up to ${new Date(stored.end).toISOString()}`);
    return { store: await loadStore(db), end: stored.end };
  }
  if (stored) throw new Error('the kept bench database holds other data: drop it first');
  await init(db, {
    chunkInterval: parseDuration('1d'),
    rollups: parseRollups('1m,1h,1d'),
    dryRun: false,
    plain: false,
    explicit: { chunkInterval: false, rollups: false },
  });
  const store = await loadStore(db);
  const step = INTERVAL_MIN * 60_000;
  const end = Math.floor(Date.now() / step) * step;
  const start = end - DAYS * 86_400_000;
  const placer = store.engine.rowPlacer(db, store);
  if (placer) {
    const times = [];
    for (let t = start; t <= end; t += store.chunkInterval.ms) times.push(t);
    await placer.ensureFor([...times, end]);
  }
  await db.query(
    `INSERT INTO iotctl.series (device_id, metric, unit)
     SELECT 'dev-' || lpad(d::text, 4, '0'), 'temperature', '°C' FROM generate_series(0, $1::int - 1) d`,
    [DEVICES],
  );
  const load = await timed(async () => {
    // One day per statement: a daily cycle plus a per-device offset and a little deterministic noise.
    for (let day = 0; day < DAYS; day++) {
      await db.query(
        `INSERT INTO iotctl.points (time, series_id, value)
         SELECT t, s.id, 20 + 3 * sin(extract(epoch FROM t) / 13751) + s.id % 7 + ((s.id * 31 + extract(epoch FROM t)::bigint / 60) % 11) / 20.0
           FROM generate_series($1::timestamptz, $2::timestamptz - interval '1 microsecond', $3::interval) t
          CROSS JOIN iotctl.series s`,
        [
          new Date(start + day * 86_400_000),
          new Date(start + (day + 1) * 86_400_000),
          `${INTERVAL_MIN} minutes`,
        ],
      );
    }
    await db.query('ANALYZE iotctl.points');
  });
  console.log(`load (INSERT ... SELECT generate_series): ${secs(load.ms)}`);

  const rollup = await timed(async () => {
    let source = null;
    for (const r of process.env.ANOMALIES_ONLY ? [] : store.rollups) {
      if (store.mode === 'timescaledb') {
        await store.engine.refreshRollup(db, store, r, { all: true });
        continue;
      }
      const bucket = (column) => store.engine.bucketExpr(r.bucket.interval, column);
      const select =
        source === null
          ? `SELECT ${bucket('time')}, series_id, count(*), sum(value), min(value), max(value), sum(value * value) FROM iotctl.points WHERE time < $1 GROUP BY 1, 2 ORDER BY 1`
          : `SELECT ${bucket('bucket')}, series_id, sum(count), sum(sum), min(min), max(max), sum(sumsq) FROM ${source} WHERE bucket < $1 GROUP BY 1, 2 ORDER BY 1`;
      // In bucket order, as refreshes that run while the data arrives write them (a whole rollup aggregated in
      // one go would scatter each bucket's rows over the table). The watermark is the last complete bucket boundary: `end` is aligned to 5 minutes, not to an hour or day.
      const until = new Date(Math.floor(end / r.bucket.ms) * r.bucket.ms);
      await db.query(`INSERT INTO iotctl.${r.name} ${select}`, [until]);
      await db.query(
        `INSERT INTO iotctl.meta (key, value) VALUES ($1, jsonb_build_object('until', $2::text))
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
        [`watermark:${r.name}`, until.toISOString()],
      );
      await db.query(`ANALYZE iotctl.${r.name}`);
      source = `iotctl.${r.name}`;
    }
  });
  console.log(`fill rollups 1m, 1h, 1d: ${secs(rollup.ms)}`);
  // What autovacuum would have done by the time anyone queries: hint bits set, statistics current.
  await db.query('VACUUM ANALYZE');
  await db.query(`INSERT INTO iotctl.meta (key, value) VALUES ('bench', $1::jsonb)`, [
    JSON.stringify({ ...wanted, end }),
  ]);
  return { store, end };
}

/** Runs fn with stdout writes counted and dropped, as `query agg --json > /dev/null` would. */
async function toNullSink(fn) {
  const write = process.stdout.write;
  process.stdout.write = () => true;
  try {
    return await fn();
  } finally {
    process.stdout.write = write;
  }
}

/** The floor: every row of each source segment the plan chose, fetched as they are stored. */
function floorSql(segments) {
  const values = [];
  const parts = segments.map((s) => {
    values.push(s.from, s.to);
    const [a, b] = [`$${values.length - 1}::timestamptz`, `$${values.length}::timestamptz`];
    return s.source === 'raw'
      ? `SELECT time, series_id, value FROM iotctl.points WHERE time >= ${a} AND time < ${b}`
      : `SELECT bucket, series_id, count, sum, min, max, sumsq FROM iotctl.${s.source} WHERE bucket >= ${a} AND bucket < ${b}`;
  });
  // Raw rows have three columns, rollup rows seven: pad so one UNION ALL reads both.
  const text = parts
    .map((p) => (p.startsWith('SELECT time') ? p.replace('value FROM', 'value, 0, 0, 0, 0 FROM') : p))
    .join('\nUNION ALL\n');
  return { text, values };
}

/** Bytes of a `COPY (...) TO STDOUT` read to the end, or null where the target cannot stream COPY. */
function copyBytes(copySql) {
  return db.transaction(async (tx) => {
    if (!tx.copyTo) return null;
    for (const setting of LINE_SETTINGS) await tx.query(setting);
    let bytes = 0;
    for await (const chunk of tx.copyTo(copySql)) bytes += chunk.length;
    return bytes;
  });
}

const { db, cleanup } = await openTarget();
try {
  const { store, end } = await loadData(db);
  const step = INTERVAL_MIN * 60_000;
  const rows = DEVICES * DAYS * (86_400_000 / step);
  const caps = await db.capabilities();
  console.log(
    `data: ${DEVICES} devices x 1 metric, one reading every ${INTERVAL_MIN} min for ${DAYS} days = ${rows.toLocaleString('en-US')} rows`,
  );
  console.log(
    `target: ${db.target.kind}, PostgreSQL ${caps.serverVersion}, ${store.engine.label}, ${os.cpus().length} cores\n`,
  );

  const now = new Date(end);
  const cases = process.env.ANOMALIES_ONLY
    ? []
    : [
        { label: `${DAYS}d, every 1d`, since: new Date(end - DAYS * 86_400_000), every: '1d' },
        { label: `${DAYS}d, every 1h`, since: new Date(end - DAYS * 86_400_000), every: '1h' },
        { label: '7d, every 1h', since: new Date(end - 7 * 86_400_000), every: '1h' },
        { label: '24h, every 15m', since: new Date(end - 86_400_000), every: '15m' },
      ];
  console.log(
    `agg avg,min,max,count over all ${DEVICES} devices (median of ${RUNS}); floor = a plain SELECT of the rows of the sources iotctl chose;`,
  );
  console.log(
    'iotctl = the rows of `query agg` as objects, and through its JSON printer (`--json`, to a null sink); raw = the same with raw data as its only source',
  );
  console.log(
    'csv rows = `--format csv` through the row printer, csv COPY = the same lines written by the database (COPY), both to a null sink;',
  );
  console.log(
    "COPY floor = the floor's rows through `COPY (...) TO STDOUT (FORMAT csv)`; raw COPY = the raw-only plan's lines through COPY",
  );
  console.log(
    'case              | sources                       |   floor |  iotctl | --json  | csv rows | COPY floor | csv COPY |      raw | raw COPY | iotctl/floor | json/floor | raw/iotctl | raw/csv COPY | raw COPY/csv COPY |    rows',
  );
  for (const c of cases) {
    const every = parseDuration(c.every);
    const opts = {
      filter: { metric: 'temperature' },
      range: { since: c.since, until: now },
      every,
      fns: ['avg', 'min', 'max', 'count'],
    };
    const count = async (res) => {
      let n = 0;
      for await (const page of res.pages) n += page.length;
      return { ...res, n };
    };
    // Untimed first: the sources' pages are then as warm for every timing below, whichever runs first.
    const plan = await planAgg(db, opts);
    await db.query(floorSql(plan.header.sources));
    const agg = await median(() => streamAgg(db, opts, count));
    const json = await median(() =>
      toNullSink(() => streamAgg(db, opts, (res) => printAgg('json', res, false, false))),
    );
    const floor = await median(() => db.query(floorSql(agg.value.sources)));
    const csvRows = await median(() =>
      toNullSink(() => streamAgg(db, opts, (res) => printAgg('csv', res, false, false))),
    );
    let copied = false;
    const csvCopy = await median(() =>
      toNullSink(() =>
        streamAggCsv(
          db,
          opts,
          (res) => printAgg('csv', res, false, false),
          (res) => {
            copied = true;
            return printAggCsv(res, false, false);
          },
        ),
      ),
    );
    const copyFloor = await median(() =>
      copyBytes(`COPY (${inlineParams(floorSql(agg.value.sources))}) TO STDOUT (FORMAT csv)`),
    );
    // The same command with raw data as its only source: what it does where no rollup answers.
    const rawOnly = plan.candidates.find((p) => p.every((s) => s.source === 'raw'));
    const raw = await median(() => runAgg(db, plan, count, rawOnly));
    const lines = aggCsvLines(plan);
    const rawCopy =
      typeof lines === 'string'
        ? { ms: NaN }
        : await median(() => copyBytes(aggCsvCopy(plan, rawOnly, lines)));
    const sources = [...new Set(agg.value.sources.map((s) => s.source))].join('+');
    const x = (a, b) => `${(a.ms / b.ms).toFixed(2)}x`;
    console.log(
      `${c.label.padEnd(17)} | ${sources.padEnd(29)} | ${secs(floor.ms).padStart(7)} | ${secs(agg.ms).padStart(7)} | ${secs(json.ms).padStart(7)} | ${secs(csvRows.ms).padStart(8)} | ${(copyFloor.value === null ? 'n/a' : secs(copyFloor.ms)).padStart(10)} | ${(copied ? secs(csvCopy.ms) : 'rows').padStart(8)} | ${secs(raw.ms).padStart(8)} | ${(rawCopy.value == null ? 'n/a' : secs(rawCopy.ms)).padStart(8)} | ${x(agg, floor).padStart(12)} | ${x(json, floor).padStart(10)} | ${x(raw, agg).padStart(10)} | ${x(raw, csvCopy).padStart(12)} | ${x(rawCopy, csvCopy).padStart(17)} | ${String(agg.value.n).padStart(7)}`,
    );
    for (const cost of agg.value.costs)
      console.log(`  estimated rows with ${cost.source}: ${Math.round(cost.rows).toLocaleString('en-US')}`);
    if (agg.value.n !== raw.value.n) console.log('  MISMATCH: row counts differ');
  }

  const methods = [
    { method: 'range', min: 0, max: 40 },
    { method: 'roc', maxStep: 3 },
    { method: 'mad' },
    { method: 'iqr' },
    { method: 'zscore', baseline: parseDuration('24h') },
    { method: 'robust' },
  ];
  const span = Number(process.env.ANOMALY_DAYS ?? DAYS);
  if (span === 0) methods.length = 0;
  const since = new Date(end - span * 86_400_000);
  const scanned = DEVICES * span * (86_400_000 / step);
  // One scan: every reading of the range read once by the server, as `range` did in SQL (a filter).
  const scan = await median(() =>
    db.query(
      `SELECT count(*) FROM iotctl.points WHERE time >= $1 AND time < $2 AND (value < 0 OR value > 40)`,
      [since, now],
    ),
  );
  console.log(
    `\nanomalies over ${span} days = ${scanned.toLocaleString('en-US')} readings (zscore and robust also read history before that; one run each):`,
  );
  console.log(
    `one scan (SELECT count(*) ... WHERE value outside 0..40, median of ${RUNS}): ${secs(scan.ms)}`,
  );
  for (const m of methods) {
    const r = await timed(() =>
      anomalies(db, { filter: { metric: 'temperature' }, range: { since, until: now }, ...m }),
    );
    console.log(
      `${m.method.padEnd(7)} ${secs(r.ms).padStart(10)}  ${(r.ms / scan.ms).toFixed(1).padStart(5)}x one scan  ${Math.round(
        scanned / (r.ms / 1000),
      )
        .toLocaleString('en-US')
        .padStart(12)} readings/s  ${r.value.rows.length} flagged`,
    );
  }
} finally {
  await db.close();
  await cleanup();
}
