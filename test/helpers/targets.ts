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
 * The targets suites run against: the embedded TimescaleDB, the PostgreSQL 18 server (plain mode), and
 * `external`, the server IOTCTL_TEST_DATABASE_URL names, when it is set.
 */
export type TargetKind = 'embedded' | 'server' | 'external';

export interface TestTarget {
  name: TargetKind;
  /** What to pass as --db. */
  spec: string;
  open(): Promise<Db>;
  cleanup(): Promise<void>;
}

/** Every target, for suites that run every command against each. */
export const targetKinds: TargetKind[] = inject('externalUrl')
  ? ['embedded', 'server', 'external']
  : ['embedded', 'server'];

/** The storage engine iotctl uses on a target. */
export function engineOf(kind: TargetKind): 'timescaledb' | 'plain' {
  if (kind === 'embedded') return 'timescaledb';
  return kind === 'server' ? 'plain' : inject('externalEngine');
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
  const { url, drop } = await freshServerDatabase(kind === 'external' ? inject('externalUrl') : serverUrl());
  return { name: kind, spec: url, open: () => openDb({ db: url }), cleanup: drop };
}
