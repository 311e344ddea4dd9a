// Real databases for tests: a fresh database on the test server, or a fresh embedded data directory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { openDb } from '../../src/db/connect.js';
import type { Db } from '../../src/db/types.js';

/** The PostgreSQL 18 server the test setup started (plain mode: no TimescaleDB). */
export function serverUrl(): string {
  return inject('serverUrl');
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = '/' + database;
  return u.toString();
}

/** Creates an empty database on a test server (the PostgreSQL 18 one by default) and returns its URL and a
 * function that drops it. */
export async function freshServerDatabase(
  admin: string = serverUrl(),
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `iotctl_t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  return {
    url: withDatabase(admin, name),
    drop: async () => {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-data-'));
}

/**
 * The targets suites run against: the embedded TimescaleDB, the PostgreSQL 18 server (plain mode),
 * `external`, the server IOTCTL_TEST_DATABASE_URL names, and `citus`, the coordinator IOTCTL_TEST_CITUS_URL
 * names, when they are set.
 */
export type TargetKind = 'embedded' | 'server' | 'external' | 'citus';

export interface TestTarget {
  name: TargetKind;
  /** What to pass as --db. */
  spec: string;
  open(): Promise<Db>;
  cleanup(): Promise<void>;
}

/** Every target, for suites that run every command against each. */
export const targetKinds: TargetKind[] = [
  'embedded',
  'server',
  ...(inject('externalUrl') ? (['external'] as const) : []),
  ...(inject('citusUrl') ? (['citus'] as const) : []),
];

/** The Citus target alone, for its regression suite ([] without IOTCTL_TEST_CITUS_URL). */
export const citusKinds: TargetKind[] = inject('citusUrl') ? ['citus'] : [];

/** The storage engine iotctl uses on a target. */
export function engineOf(kind: TargetKind): 'timescaledb' | 'plain' | 'citus' {
  if (kind === 'embedded') return 'timescaledb';
  if (kind === 'citus') return 'citus';
  return kind === 'server' ? 'plain' : inject('externalEngine');
}

async function onNode(url: string, statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const s of statements) await client.query(s);
  } finally {
    await client.end();
  }
}

/**
 * A fresh database on the Citus cluster: Citus does not propagate CREATE DATABASE, so it is created with the
 * extension on the coordinator and on every worker the admin database lists, and the workers are added in it.
 */
export async function freshCitusDatabase(
  admin: string = inject('citusUrl'),
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `iotctl_c_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  const { rows } = await client.query<{ nodename: string; nodeport: number; groupid: number }>(
    "SELECT nodename, nodeport, groupid FROM pg_dist_node WHERE noderole = 'primary' ORDER BY groupid",
  );
  await client.end();
  const coordinator = new URL(admin);
  const nodeUrl = (n: { nodename: string; nodeport: number }, db: string) => {
    const u = new URL(admin);
    u.hostname = n.nodename;
    u.port = String(n.nodeport);
    return withDatabase(u.toString(), db);
  };
  const workers = rows.filter((r) => r.groupid !== 0);
  if (workers.length < 2)
    throw new Error('IOTCTL_TEST_CITUS_URL: the coordinator needs at least two workers');
  const urls = [admin, ...workers.map((w) => nodeUrl(w, 'postgres'))];
  for (const u of urls) await onNode(u, [`CREATE DATABASE ${name}`]);
  for (const u of urls) await onNode(withDatabase(u, name), ['CREATE EXTENSION citus']);
  await onNode(withDatabase(admin, name), [
    `SELECT citus_set_coordinator_host('${coordinator.hostname}', ${Number(coordinator.port || 5432)})`,
    ...workers.map((w) => `SELECT citus_add_node('${w.nodename}', ${Number(w.nodeport)})`),
  ]);
  return {
    url: withDatabase(admin, name),
    drop: async () => {
      for (const u of urls) await onNode(u, [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
    },
  };
}

export async function makeTarget(kind: TargetKind): Promise<TestTarget> {
  if (kind === 'embedded') {
    const dir = tempDataDir();
    return {
      name: kind,
      spec: dir,
      open: () => openDb({ db: dir }),
      cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  }
  const { url, drop } =
    kind === 'citus'
      ? await freshCitusDatabase()
      : await freshServerDatabase(kind === 'external' ? inject('externalUrl') : serverUrl());
  return { name: kind, spec: url, open: () => openDb({ db: url }), cleanup: drop };
}
