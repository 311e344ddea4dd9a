// query agg's counters, moving windows and delta on the AMPds2 sample (1-minute readings, cumulative `Pt`,
// `Qt`, `St` counters), beside `--fn avg` over the same buckets in the same run; and what the rollups' counter
// columns add to computing a rollup (the aggregate a refresh runs, with and without them).
//
//   npm run build && node bench/counters.js [--data /work/shared/data] [--db <target>] [--rounds 5]
//
// Without --db an embedded store is built in a temporary directory (init, the README's AMPds2 ingest line,
// maintain; --keep leaves it there for another run with --db). Prints the median of --rounds runs of each case
// after a warm-up run, each in turns with its baseline (--fn avg; the sums-only aggregate), and the load.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { sets, iotctlIn } from './_datasets.js';
import { openDb } from '../dist/db/connect.js';
import { loadStore } from '../dist/db/store.js';
import { queryAgg } from '../dist/query/agg.js';
import { counterColumns } from '../dist/db/sql/schema.js';
import { parseDuration } from '../dist/util/duration.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const data = arg('data', '/work/shared/data');
const rounds = Number(arg('rounds', '5'));
const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/iotctl.js');

let target = arg('db');
let tmp = null;
if (!target) {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-bench-counters-'));
  target = tmp;
  const run = iotctlIn(bin, data);
  const ampds = sets.find((s) => s.name.startsWith('AMPds2'));
  const t0 = performance.now();
  run(target, ['init']);
  run(target, ['ingest', ...ampds.ingest]);
  run(target, ['maintain', '--force']);
  console.log(
    `store built in ${((performance.now() - t0) / 1000).toFixed(1)} s (init, ingest AMPds2, maintain)`,
  );
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** Two statements timed in turns (a, b, a, b, ...) after a warm-up of each: the load changes both alike. */
async function inTurns(a, b) {
  await a();
  await b();
  const ta = [];
  const tb = [];
  for (let i = 0; i < rounds; i++) {
    for (const [f, list] of [
      [a, ta],
      [b, tb],
    ]) {
      const t = performance.now();
      await f();
      list.push(performance.now() - t);
    }
  }
  return [median(ta), median(tb)];
}

const db = await openDb({ db: target });
try {
  const store = await loadStore(db);
  const { rows: ext } = await db.query(
    `SELECT min(time) AS first, max(time) AS last FROM iotctl.readings WHERE metric = 'Pt'`,
  );
  const range = { since: new Date(ext[0].first), until: new Date(new Date(ext[0].last).getTime() + 1) };
  const filter = { metric: 'Pt' };
  console.log(
    `load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; ${store.engine.label}; median of ${rounds}`,
  );
  console.log(
    `range ${range.since.toISOString()} .. ${range.until.toISOString()}, metric Pt (1-minute readings)\n`,
  );
  console.log('| every | --fn | sources | rows | avg ms | ms | / avg |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const every of ['1h', '1d']) {
    const cases = [
      ['avg', {}],
      ['increase', {}],
      ['increase,rate', {}],
      ['avg,delta', {}],
      ['avg --window 24', { windowBuckets: 24 }],
      ['increase --window 24', { windowBuckets: 24 }],
    ];
    for (const [label, extra] of cases.slice(1)) {
      const fns = label.split(' ')[0].split(',');
      const run = (f, x) => queryAgg(db, { filter, range, every: parseDuration(every), fns: f, ...x });
      // Each case in turns with the baseline, so that both see the same load.
      const [base, ms] = await inTurns(
        () => run(['avg'], {}),
        () => run(fns, extra),
      );
      const out = await run(fns, extra);
      const sources = [...new Set(out.sources.map((s) => s.source))].join('+');
      console.log(
        `| ${every} | ${label} | ${sources} | ${out.rows.length} | ${base.toFixed(1)} | ${ms.toFixed(1)} | ${(ms / base).toFixed(2)}x |`,
      );
    }
  }
  // What a refresh of the finest rollup computes from the readings, without and with the counter columns.
  const r = store.rollups[0];
  const sums = 'count(*), sum(value), min(value), max(value), sum(value * value)';
  const bucket = store.engine.bucketExpr(r.bucket.interval, 'time');
  const agg = (cols) =>
    // `x IS NOT NULL` reads every column: unused aggregates of a subquery are not computed at all.
    `SELECT count(*) FROM (SELECT ${bucket}, series_id, ${cols} FROM iotctl.points GROUP BY 1, 2) x WHERE x IS NOT NULL`;
  const [without, withCounters] = await inTurns(
    () => db.query(agg(sums)),
    () => db.query(agg(`${sums}, ${counterColumns('points', 'time').join(', ')}`)),
  );
  console.log(
    `\n${r.name} from all readings: sums only ${without.toFixed(0)} ms, with first/last/increase ${withCounters.toFixed(0)} ms (${(withCounters / without).toFixed(2)}x)`,
  );
  console.log(
    `load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
} finally {
  await db.close();
  if (tmp && !process.argv.includes('--keep')) fs.rmSync(tmp, { recursive: true, force: true });
  else if (tmp) console.log(`store kept in ${tmp}`);
}
