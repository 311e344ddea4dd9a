// Backtest of `iotctl forecast` on the four public sample data sets (../shared/data), loaded with the
// README's ingest lines and rolled up: per series, the last 10 weeks of hourly averages (or all of a
// shorter series), the last 20% of them held out and forecast from the rest, against the seasonal naive
// forecast (each hour as the same hour of the last day before the held-out part).
// Printed per data set: the median over its series of MASE against the seasonal naive forecast
// (MAE of the forecast / MAE of the seasonal naive one over the held-out hours: below 1 is better), the
// share of series where it is below 1, the median Hyndman MASE of both (scaled by the in-sample one-step
// seasonal naive MAE), and how many held-out hours the 80% and 95% intervals covered.
// Usage: npm run build && node bench/forecast.js [--target server|embedded | --db SPEC] [-- --season 1d|none]
// --db: a database URL or data directory to use (loaded and kept when it holds no series yet; with the
// sets already in it, used as it is). env: DATA_DIR (default ../shared/data from the repository),
// VERBOSE=1 for one line per series.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { iotctlIn, sets } from './_datasets.js';
import { startPostgres } from './_postgres.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const bin = path.join(repo, 'bin/iotctl.js');
const data = path.resolve(process.env.DATA_DIR ?? path.join(repo, '../shared/data'));
const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const args = dash >= 0 ? argv.slice(0, dash) : argv;
const extra = dash >= 0 ? argv.slice(dash + 1) : [];
const flag = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const given = flag('--db');
const seasonFlag = extra.includes('--season') ? extra[extra.indexOf('--season') + 1] : undefined;
const target = given ? 'given' : (flag('--target') ?? 'server');
const { openDb } = await import(path.join(repo, 'dist/db/connect.js'));
const { forecast } = await import(path.join(repo, 'dist/query/forecast.js'));
const { queryAgg } = await import(path.join(repo, 'dist/query/agg.js'));
const { parseDuration } = await import(path.join(repo, 'dist/util/duration.js'));
const { listSeries } = await import(path.join(repo, 'dist/query/series.js'));

const HOUR = 3_600_000;
const WINDOW = 10 * 7 * 24; // hours of history + held-out part, at most
const DAILY = 24; // the seasonal naive's season, in hours

if (!fs.existsSync(data)) {
  console.log(`data sets not found (${data}): skipped`);
  process.exit(0);
}

const iotctl = iotctlIn(bin, data);

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-');

/** Backtests one series; a string says why it was left out. */
async function backtest(db, s) {
  const last = Math.floor(new Date(s.last).getTime() / HOUR) * HOUR; // the last whole hour ends here
  const first = Math.ceil(new Date(s.first).getTime() / HOUR) * HOUR;
  const total = Math.min(WINDOW, Math.floor((last - first) / HOUR));
  const held = Math.round(total * 0.2);
  const origin = last - held * HOUR;
  const since = last - total * HOUR;
  let res;
  try {
    res = await forecast(db, {
      filter: { metric: s.metric, devices: [s.device] },
      horizon: parseDuration(`${held}h`),
      every: parseDuration('1h'),
      since: new Date(since),
      until: new Date(origin),
      season: seasonFlag === undefined ? undefined : seasonFlag === 'none' ? null : parseDuration(seasonFlag),
    });
  } catch (err) {
    return `forecast refused: ${err.message}`;
  }
  const actual = await queryAgg(db, {
    filter: { metric: s.metric, devices: [s.device] },
    range: { since: new Date(origin), until: new Date(last) },
    every: parseDuration('1h'),
    fns: ['avg'],
  });
  const byTime = new Map(res.history.map((h) => [h.time.getTime(), h.value]));
  const naiveAt = (t) => {
    // The same hour of the last day before the origin that holds a value.
    const back = Math.ceil((t - origin + HOUR) / (DAILY * HOUR));
    for (let k = back; k < back + 7; k++) {
      const v = byTime.get(t - k * DAILY * HOUR);
      if (v !== null && v !== undefined) return v;
    }
    return null;
  };
  const rows = new Map(res.rows.map((r) => [r.time.getTime(), r]));
  let hw = 0;
  let naive = 0;
  let n = 0;
  let in80 = 0;
  let in95 = 0;
  for (const a of actual.rows) {
    const r = rows.get(a.time.getTime());
    const nv = naiveAt(a.time.getTime());
    if (!r || nv === null || typeof a.avg !== 'number') continue;
    hw += Math.abs(a.avg - r.forecast);
    naive += Math.abs(a.avg - nv);
    if (a.avg >= r.lo80 && a.avg <= r.hi80) in80++;
    if (a.avg >= r.lo95 && a.avg <= r.hi95) in95++;
    n++;
  }
  if (n === 0) return 'no held-out hour with readings';
  if (naive === 0) return 'the seasonal naive forecast is exact (a constant series)';
  // Hyndman's scale: the in-sample one-step seasonal naive MAE.
  const ys = res.history.map((h) => h.value);
  let sc = 0;
  let k = 0;
  for (let t = DAILY; t < ys.length; t++)
    if (ys[t] !== null && ys[t - DAILY] !== null) {
      sc += Math.abs(ys[t] - ys[t - DAILY]);
      k++;
    }
  const scale = k ? sc / k : NaN;
  return {
    relative: hw / naive,
    maseHw: hw / n / scale,
    maseNaive: naive / n / scale,
    in80: in80 / n,
    in95: in95 / n,
    season: res.season ?? 'none',
    held,
    params: Object.entries(res.params)
      .map(([k, v]) => `${k} ${v.toFixed(3)}`)
      .join(' '),
  };
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-forecast-'));
const server = target === 'server' ? await startPostgres('iotctl-bench-forecast-') : null;
const spec = given ?? (server ? `${server.base}/postgres` : path.join(work, 'data'));
try {
  let t = performance.now();
  const loaded =
    given && spawnSync(process.execPath, [bin, 'series', '--json', '--db', spec], { encoding: 'utf8' });
  if (loaded && loaded.status === 0 && JSON.parse(loaded.stdout).length > 0)
    console.log(`target: ${spec} (as it is)`);
  else {
    iotctl(spec, ['init', '--quiet']);
    for (const set of sets) iotctl(spec, ['ingest', ...set.ingest, '--quiet']);
    console.log(`target: ${target}; loaded in ${((performance.now() - t) / 1000).toFixed(0)} s`);
    t = performance.now();
    iotctl(spec, ['rollup', 'refresh', '--quiet']);
    console.log(`rollups refreshed in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  }
  console.log(`--season: ${seasonFlag ?? '(chosen from the data)'}\n`);
  const db = await openDb({ db: spec });
  try {
    console.log(
      'data set                           | series | MASE vs snaive (median) | below 1 | MASE HW | MASE snaive | 80% covered | 95% covered | seasons | s/series',
    );
    const notes = [];
    for (const set of sets) {
      // In this process: a subprocess would wait on the embedded database this process holds.
      const series = (await listSeries(db, { devices: set.devices })).filter((s) => s.last);
      const results = [];
      t = performance.now();
      for (const s of series) {
        const r = await backtest(db, s);
        if (typeof r === 'string') notes.push(`${set.name}: ${s.device} ${s.metric} left out: ${r}`);
        else results.push(r);
        if (process.env.VERBOSE && typeof r !== 'string')
          console.log(
            `  ${s.device} ${s.metric}: vs snaive ${f2(r.relative)}, MASE ${f2(r.maseHw)} / ${f2(r.maseNaive)}, season ${r.season}, 80% ${(100 * r.in80).toFixed(0)}%, 95% ${(100 * r.in95).toFixed(0)}%, ${r.params}`,
          );
      }
      const per = (performance.now() - t) / 1000 / Math.max(1, series.length);
      const seasons = Object.entries(
        results.reduce((m, r) => ({ ...m, [r.season]: (m[r.season] ?? 0) + 1 }), {}),
      )
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      const below = results.filter((r) => r.relative < 1).length;
      console.log(
        `${set.name.padEnd(34)} | ${String(results.length).padStart(6)} | ${f2(median(results.map((r) => r.relative))).padStart(23)} | ${`${below}/${results.length}`.padStart(7)} | ${f2(median(results.map((r) => r.maseHw))).padStart(7)} | ${f2(median(results.map((r) => r.maseNaive))).padStart(11)} | ${`${(100 * median(results.map((r) => r.in80))).toFixed(0)}%`.padStart(11)} | ${`${(100 * median(results.map((r) => r.in95))).toFixed(0)}%`.padStart(11)} | ${seasons} | ${per.toFixed(2)}`,
      );
    }
    for (const n of notes) console.log(n);
  } finally {
    await db.close();
  }
} finally {
  await server?.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
