// Compression figures: loads a generated set (1,000 devices x 3 metrics, random walks) and, when
// IOTCTL_SAMPLE_DATA names a folder holding them, the four public sample data sets (uci_air_quality/,
// beijing_air_quality/, ampds2_electricity/, uci_occupancy/; sources in fixtures/README.md) into fresh
// embedded databases (or, with IOTCTL_BENCH_TSDB_URL, fresh databases on that TimescaleDB server), runs
// `compress run`, and prints bytes before/after, the ratio and the seconds per million rows.
// Usage: npm run build && [IOTCTL_SAMPLE_DATA=DIR] [IOTCTL_BENCH_TSDB_URL=postgres://...]
//          node bench/compress.js [rows=5000000] [--no-shared]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compressRun } from '../dist/maintenance/compress.js';
import { init, parseRollups } from '../dist/maintenance/init.js';
import { openDb } from '../dist/db/connect.js';
import { setLogLevel } from '../dist/output/log.js';
import { parseDuration } from '../dist/util/duration.js';
import { tsdbServer } from './_postgres.js';

const SHARED = process.env.IOTCTL_SAMPLE_DATA ? path.resolve(process.env.IOTCTL_SAMPLE_DATA) : null;
const args = process.argv.slice(2);
const ROWS = Number(args.find((a) => /^\d+$/.test(a)) ?? 5_000_000);
const BATCH = 200_000;

const mb = (b) => `${(b / 1048576).toFixed(1)} MB`;
const tsdb = tsdbServer();

/**
 * One data set: `series` is [[device, metric], ...]; `rows()` yields [timeMs, seriesIndex, value] in time order.
 */
async function measure(name, chunkInterval, series, rows) {
  const dir = tsdb ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-bench-compress-'));
  const db = await openDb({
    db: dir ?? (await tsdb.database(name.replace(/[^a-z0-9]+/gi, '_').toLowerCase())),
  });
  try {
    await init(db, {
      chunkInterval: parseDuration(chunkInterval),
      rollups: parseRollups('none'),
      dryRun: false,
      plain: false,
      explicit: { chunkInterval: true, rollups: true },
    });
    for (const [device, metric] of series) {
      await db.query('INSERT INTO iotctl.series (device_id, metric) VALUES ($1, $2)', [device, metric]);
    }
    const ids = (await db.query('SELECT id FROM iotctl.series ORDER BY id')).rows.map((r) => r.id);
    let n = 0;
    let buf = [];
    const flush = async () => {
      if (!buf.length) return;
      const payload = buf.join('');
      buf = [];
      await db.transaction((tx) =>
        tx.copyFrom('COPY iotctl.points (time, series_id, value) FROM STDIN', payload),
      );
    };
    const loadStart = Date.now();
    for (const [t, s, v] of rows()) {
      buf.push(`${new Date(t).toISOString()}\t${ids[s]}\t${v}\n`);
      if (++n % BATCH === 0) await flush();
    }
    await flush();
    const loadSeconds = (Date.now() - loadStart) / 1000;
    const size = async () =>
      (await db.query(`SELECT hypertable_size('iotctl.points')::bigint AS b`)).rows[0].b;
    const before = await size();
    // Everything older than the newest chunk: the chunk still being written stays uncompressed.
    const started = Date.now();
    const result = await compressRun(db, { olderThan: parseDuration('1ms'), dryRun: false });
    const seconds = (Date.now() - started) / 1000;
    const after = await size();
    const line = {
      set: name,
      rows: n,
      series: series.length,
      chunkInterval,
      chunks: result.totals.chunks,
      bytesBefore: before,
      bytesAfter: after,
      ratio: Math.round((before / after) * 10) / 10,
      compressSeconds: seconds,
      secondsPerMillionRows: Math.round((seconds / (n / 1e6)) * 10) / 10,
      loadSeconds,
    };
    process.stdout.write(
      `${name.padEnd(28)} ${String(n).padStart(9)} rows  ${mb(before).padStart(9)} -> ${mb(after).padStart(8)}  ` +
        `${String(line.ratio).padStart(5)}x  compress ${seconds.toFixed(1)} s (${line.secondsPerMillionRows} s per 1M rows)\n`,
    );
    return line;
  } finally {
    await db.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    else await tsdb.stop();
  }
}

/** Deterministic random walks: temperature, humidity and pressure of 1,000 devices every minute, 0.01 resolution. */
function generated(total) {
  const metrics = [
    ['temperature', 21, 0.05],
    ['humidity', 45, 0.2],
    ['pressure', 1013, 0.05],
  ];
  const series = [];
  for (let d = 0; d < 1000; d++)
    for (const [m] of metrics) series.push([`dev-${String(d).padStart(4, '0')}`, m]);
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const start = Date.UTC(2024, 0, 1);
  function* rows() {
    const value = series.map((_, i) => metrics[i % 3][1] + rand() * 4);
    let n = 0;
    for (let step = 0; n < total; step++) {
      const t = start + step * 60_000;
      for (let s = 0; s < series.length && n < total; s++, n++) {
        value[s] += (rand() - 0.5) * 2 * metrics[s % 3][2];
        yield [t, s, Math.round(value[s] * 100) / 100];
      }
    }
  }
  return { series, rows };
}

/** A wide CSV as long rows: one series per numeric column; missing values (empty, NA, -200) skipped. */
function wideCsv(files, { sep, device, time, skipColumns, missing }) {
  const parsed = files.map((f) => {
    const lines = fs
      .readFileSync(f, 'utf8')
      .split(/\r?\n/)
      .filter((l) => l.trim() !== '');
    const header = lines[0].split(sep).map((h) => h.replace(/"/g, ''));
    return { file: f, header, lines: lines.slice(1) };
  });
  const series = [];
  const index = new Map();
  for (const p of parsed) {
    for (const h of p.header) {
      if (skipColumns.includes(h) || h === '') continue;
      const key = `${device(p.file)}|${h}`;
      if (!index.has(key)) {
        index.set(key, series.length);
        series.push([device(p.file), h]);
      }
    }
  }
  function* rows() {
    const all = [];
    for (const p of parsed) {
      for (const line of p.lines) {
        const cells = line.split(sep).map((c) => c.replace(/"/g, ''));
        const t = time(cells, p.header);
        if (!Number.isFinite(t)) continue;
        for (const [i, h] of p.header.entries()) {
          const s = index.get(`${device(p.file)}|${h}`);
          if (s === undefined) continue;
          const raw = (cells[i] ?? '').replace(',', '.');
          // Compared as numbers too, as `iotctl ingest --null -200` does: UCI writes -200 and -200,0.
          if (raw === '' || missing.some((m) => raw === m || Number(raw) === Number(m))) continue;
          const v = Number(raw);
          if (Number.isFinite(v)) all.push([t, s, v]);
        }
      }
    }
    all.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    // Duplicate (time, series) pairs in the source (clock changes) would break the unique index.
    let last = '';
    for (const r of all) {
      const key = `${r[0]}|${r[1]}`;
      if (key !== last) yield r;
      last = key;
    }
  }
  return { series, rows };
}

function sharedSets() {
  const dir = (d) => path.join(SHARED, d);
  const files = (d) =>
    fs
      .readdirSync(dir(d))
      .filter((f) => /\.(csv|txt)$/.test(f))
      .map((f) => path.join(dir(d), f));
  return [
    [
      'ampds2_electricity',
      '1d',
      wideCsv(files('ampds2_electricity'), {
        sep: ',',
        device: () => 'house-1',
        time: (c) => Number(c[0]) * 1000,
        skipColumns: ['unix_ts'],
        missing: [],
      }),
    ],
    [
      'uci_occupancy',
      '1d',
      wideCsv(files('uci_occupancy'), {
        sep: ',',
        device: () => 'room-1',
        time: (c) => Date.parse(c[1].replace(' ', 'T') + 'Z'),
        skipColumns: ['date'],
        missing: [],
      }),
    ],
    [
      'uci_air_quality',
      '4w',
      wideCsv(files('uci_air_quality'), {
        sep: ';',
        device: () => 'multisensor-1',
        time: (c) => {
          const [d, m, y] = c[0].split('/');
          return Date.parse(`${y}-${m}-${d}T${c[1].replace(/\./g, ':')}Z`);
        },
        skipColumns: ['Date', 'Time'],
        missing: ['-200'],
      }),
    ],
    [
      'beijing_air_quality',
      '4w',
      wideCsv(files('beijing_air_quality'), {
        sep: ',',
        device: (f) => path.basename(f).split('_')[2],
        time: (c) => Date.UTC(Number(c[1]), Number(c[2]) - 1, Number(c[3]), Number(c[4])),
        skipColumns: ['No', 'year', 'month', 'day', 'hour', 'wd', 'station'],
        missing: ['NA'],
      }),
    ],
  ];
}

setLogLevel({ quiet: true }); // no per-chunk progress lines
process.stdout.write(
  `compress bench: node ${process.version}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; ` +
    `target: ${tsdb ? `TimescaleDB server ${tsdb.display}` : 'embedded (PGlite)'}\n`,
);
const results = [];
const gen = generated(ROWS);
results.push(await measure(`generated (1000 dev x 3)`, '1d', gen.series, gen.rows));
if (!args.includes('--no-shared') && SHARED && fs.existsSync(SHARED)) {
  for (const [name, interval, set] of sharedSets())
    results.push(await measure(name, interval, set.series, set.rows));
}
if (args.includes('--json')) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
