// The embedded data directory's pg_wal grew with the largest load ever made (606 MB for 22 MB of readings):
// iotctl now checkpoints after large writes, so WAL is released. And the directory's size can be read.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/connect.js';
import { directoryBytes } from '../../src/db/pgdata.js';
import type { Db } from '../../src/db/types.js';
import { makeTarget, targetKinds, tempDataDir, type TestTarget } from '../helpers/targets.js';

const MB = 2 ** 20;

async function walPosition(db: Db): Promise<bigint> {
  const { rows } = await db.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
  const [hi, lo] = rows[0]!.lsn.split('/');
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

describe('embedded write-ahead log', () => {
  it('stays bounded after loads much larger than it: old segments are released', async () => {
    const dir = tempDataDir();
    try {
      const db = await openDb({ db: dir });
      await db.exec('CREATE TABLE load (id bigint PRIMARY KEY, at timestamptz, v float8)');
      const start = await walPosition(db);
      // Batches, as ingest commits them: 12 x 100,000 rows with an index, well over 100 MB of WAL.
      for (let b = 0; b < 12; b++) {
        await db.transaction((tx) =>
          tx.query(
            `INSERT INTO load SELECT g, now(), random() FROM generate_series($1::bigint, $2::bigint) g`,
            [b * 100_000 + 1, (b + 1) * 100_000],
          ),
        );
      }
      const written = Number((await walPosition(db)) - start);
      await db.close();
      const wal = await directoryBytes(path.join(dir, 'pgdata', 'pg_wal'));
      expect(written).toBeGreaterThan(100 * MB);
      expect(wal).toBeLessThan(64 * MB);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each(targetKinds)('storage size on the %s target', (kind) => {
  let target: TestTarget;
  let db: Db;
  beforeAll(async () => {
    target = await makeTarget(kind);
    db = await target.open();
  });
  afterAll(async () => {
    await db.close();
    await target.cleanup();
  });

  it('reports the database size, and for the embedded target the data directory and its WAL', async () => {
    const size = await db.storageSize();
    expect(size.databaseBytes).toBeGreaterThan(MB);
    if (kind !== 'embedded') {
      expect(size.dataDirectory).toBeNull();
      return;
    }
    const dd = size.dataDirectory!;
    expect(dd.path).toBe(target.spec);
    expect(dd.walBytes).toBeGreaterThan(0);
    expect(dd.bytes).toBeGreaterThan(dd.walBytes + size.databaseBytes / 2);
    // What `du` counts, within the few files that may change between the two readings.
    const du = Number(execFileSync('du', ['-sk', dd.path]).toString().split('\t')[0]) * 1024;
    expect(Math.abs(dd.bytes - du)).toBeLessThan(2 * MB);
  });
});
