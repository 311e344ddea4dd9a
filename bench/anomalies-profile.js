// Splits `iotctl anomalies`' time over the bench/query.js data into its parts: the server producing the
// packed slices (each slice's statement with only the sizes returned), the read as the command does it
// (transfer and decoding, the next slice in flight meanwhile, nothing scored), and each method's scoring
// of readings already in memory. Figures are printed, never asserted.
// Usage: npm run build && BENCH_DATABASE_URL=postgres://.../postgres KEEP=1 DAYS=35 ANOMALIES_ONLY=1 node bench/query.js
//        (once, to load and keep the data), then
//        PROFILE_DATABASE_URL=postgres://.../iotctl_bench_query node bench/anomalies-profile.js
//   env: METHODS=range,roc,mad,iqr,zscore,robust  RUNS=3 (the median is printed)
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { withDefaults } from '../dist/anomalies/detect.js';
import { anomalyMethod } from '../dist/anomalies/methods/index.js';
import { packedRow, readSlices, split } from '../dist/anomalies/stream.js';
import { openDb } from '../dist/db/connect.js';
import { packedBase64, readingsSlice } from '../dist/db/sql/anomalies.js';
import { parseDuration } from '../dist/util/duration.js';

const url = process.env.PROFILE_DATABASE_URL;
if (!url) throw new Error('PROFILE_DATABASE_URL: the database bench/query.js kept (KEEP=1)');
const RUNS = Number(process.env.RUNS ?? 3);
const METHODS = (process.env.METHODS ?? 'range,roc,mad,iqr,zscore,robust').split(',');
const params = {
  range: { min: 0, max: 40 },
  roc: { maxStep: 3 },
  mad: {},
  iqr: {},
  zscore: { baseline: parseDuration('24h') },
  robust: {},
};

const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;
/** The median wall time of RUNS runs (ms); `lastCpu` gets this process's CPU time (ms) of the last one. */
let lastCpu = 0;
async function median(fn) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    await fn();
    const used = process.cpuUsage(c);
    lastCpu = (used.user + used.system) / 1000;
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const db = await openDb({ db: url });
try {
  const bench = (await db.query(`SELECT value FROM iotctl.meta WHERE key = 'bench'`)).rows[0]?.value;
  if (!bench) throw new Error('no bench data in that database');
  const until = bench.end;
  const since = until - bench.days * 86_400_000;
  const ids = (await db.query('SELECT id FROM iotctl.series ORDER BY id')).rows.map((r) => r.id);
  console.log(
    `${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' / ')} load; ${ids.length} series, ${bench.days} days`,
  );

  const scan = await median(() =>
    db.query(
      `SELECT count(*) FROM iotctl.points WHERE time >= $1 AND time < $2 AND (value < 0 OR value > 40)`,
      [new Date(since), new Date(until)],
    ),
  );
  console.log(`one scan (count(*) with a filter):             ${secs(scan)}  1.0x`);

  // The slice boundaries the command uses, recorded from one read.
  const bounds = [];
  let readings = 0;
  {
    let from = since;
    for await (const slice of readSlices(db, ids, since, until, { counted: (n) => (readings += n) })) {
      let last = -Infinity;
      for (const s of slice) last = Math.max(last, s.times[s.times.length - 1]);
      bounds.push([from, last + 1]);
      from = last + 1;
    }
    bounds[bounds.length - 1][1] = until;
  }
  const sized = (a, b) => {
    const q = readingsSlice(ids, new Date(a), new Date(b));
    return {
      text: `SELECT n, length(readings) AS bytes FROM (${q.text}) s`,
      values: q.values,
    };
  };
  let bytes = 0;
  const server = await median(async () => {
    bytes = 0;
    for (const [a, b] of bounds) bytes += Number((await db.query(sized(a, b))).rows[0].bytes);
  });
  const ratio = (ms) => `${(ms / scan).toFixed(1)}x  (iotctl's CPU ${secs(lastCpu)})`;
  console.log(
    `server packs the slices (sizes only, one at a time): ${secs(server)}  ${ratio(server)}  (${bounds.length} slices, ${(bytes / 1e6).toFixed(0)} MB, ${readings.toLocaleString('en-US')} readings)`,
  );
  const fetchText = await median(async () => {
    for (const [a, b] of bounds) await db.query(packedBase64(readingsSlice(ids, new Date(a), new Date(b))));
  });
  console.log(`fetch the rows as base64 text, one at a time:        ${secs(fetchText)}  ${ratio(fetchText)}`);
  const fetchCopy = await median(async () => {
    for (const [a, b] of bounds) await packedRow(db, readingsSlice(ids, new Date(a), new Date(b)));
  });
  console.log(`fetch them as COPY binary (what a server uses):      ${secs(fetchCopy)}  ${ratio(fetchCopy)}`);
  const raw = [];
  for (const [a, b] of bounds)
    raw.push((await db.query(readingsSlice(ids, new Date(a), new Date(b)))).rows[0]);
  const decode = await median(async () => {
    for (const r of raw) split(r.readings);
  });
  console.log(`split them by series, in time order:                 ${secs(decode)}  ${ratio(decode)}`);
  raw.length = 0;
  const read = await median(async () => {
    for await (const slice of readSlices(db, ids, since, until)) void slice;
  });
  console.log(`read as the command does (pipelined, decoded):       ${secs(read)}  ${ratio(read)}`);

  // Scoring alone, over the slices held in memory.
  const held = [];
  for await (const slice of readSlices(db, ids, since, until)) held.push(slice);
  const range = { since: new Date(since), until: new Date(until) };
  for (const name of METHODS) {
    const m = anomalyMethod(name);
    const o = withDefaults(m, { method: name, filter: { metric: 'temperature' }, range, ...params[name] });
    let flagged = 0;
    const ms = await median(async () => {
      flagged = 0;
      const scorers = new Map(ids.map((id) => [id, m.scorer(o)]));
      const rows = [];
      const emit = (time, value, v, inRange) => {
        if (!v.flagged || !inRange) return;
        flagged++;
        rows.push({ time: new Date(time), value, baseline: v.baseline, score: v.score });
      };
      for (const slice of held)
        for (const part of slice) {
          const scorer = scorers.get(part.id);
          const { times, values } = part;
          for (let i = 0; i < times.length; i++) scorer.push(times[i], values[i], times[i] >= since, emit);
        }
      for (const scorer of scorers.values()) scorer.finish?.(emit);
    });
    console.log(
      `score ${name.padEnd(7)} (in memory, every reading):        ${secs(ms)}  ${ratio(ms)}  ${flagged} flagged`,
    );
  }
} finally {
  await db.close();
}
