// Data page checksums in the embedded database: without them, a flipped byte in a table's file gave wrong
// answers with exit 0. A data directory iotctl creates now has them, so such damage is an error when read.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/connect.js';
import { enableDataChecksums, pageChecksum } from '../../src/db/pgdata.js';
import type { Db } from '../../src/db/types.js';
import { IotctlError } from '../../src/errors.js';
import { tempDataDir } from '../helpers/targets.js';

describe('data page checksums (embedded)', () => {
  let dir: string;
  let db: Db;
  beforeAll(async () => {
    dir = tempDataDir();
    db = await openDb({ db: dir });
  });
  afterAll(async () => {
    await db.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('are on in a data directory iotctl creates', async () => {
    const { rows } = await db.query<{ data_checksums: string }>('SHOW data_checksums');
    expect(rows[0]?.data_checksums).toBe('on');
    const control = await db.query<{ v: number }>(
      'SELECT data_page_checksum_version AS v FROM pg_control_init()',
    );
    expect(control.rows[0]?.v).toBe(1);
  });

  it('match what the engine writes, page for page', async () => {
    await db.exec(
      `CREATE TABLE readings_copy AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g`,
    );
    await db.exec('CHECKPOINT');
    const { rows } = await db.query<{ file: string }>(`SELECT pg_relation_filepath('readings_copy') AS file`);
    const buf = fs.readFileSync(path.join(dir, 'pgdata', rows[0]!.file));
    expect(buf.length).toBeGreaterThan(8192 * 10);
    const mismatched: number[] = [];
    let checked = 0;
    for (let block = 0; block * 8192 < buf.length; block++) {
      // Pages the engine extended the file by but has not used yet are all zeros: no checksum.
      if (buf.readUInt16LE(block * 8192 + 14) === 0) continue;
      checked++;
      if (pageChecksum(buf, block * 8192, block) !== buf.readUInt16LE(block * 8192 + 8))
        mismatched.push(block);
    }
    expect(checked).toBeGreaterThan(100);
    expect(mismatched).toEqual([]);
  });

  it('a flipped byte in a table file is an error when read (DAMAGED, exit 8), not a wrong answer', async () => {
    await db.exec(`CREATE TABLE flipped AS SELECT g AS id, 1 AS one FROM generate_series(1, 50000) g`);
    const { rows } = await db.query<{ file: string }>(`SELECT pg_relation_filepath('flipped') AS file`);
    await db.close();
    const file = path.join(dir, 'pgdata', rows[0]!.file);
    const fd = fs.openSync(file, 'r+');
    // A byte among the tuples of block 3 (past the page header and line pointers).
    const at = 3 * 8192 + 6000;
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, at);
    byte[0] = (byte[0] as number) ^ 0x01;
    fs.writeSync(fd, byte, 0, 1, at);
    fs.closeSync(fd);
    db = await openDb({ db: dir });
    const err = await db.query('SELECT sum(one) FROM flipped').then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(IotctlError);
    expect(err).toMatchObject({ code: 'DAMAGED', exitCode: 8 });
    expect((err as IotctlError).message).toMatch(/invalid page in block 3/);
    expect((err as IotctlError).hint).toMatch(/iotctl check/);
  });

  it('are not turned on in a cluster that was not shut down cleanly (nothing is changed)', async () => {
    const copy = tempDataDir();
    try {
      const other = await openDb({ db: copy });
      // Copy the files while the engine runs: the copy's pg_control says "in production".
      fs.cpSync(path.join(copy, 'pgdata'), path.join(copy, 'running'), { recursive: true });
      await other.close();
      const before = fs.readFileSync(path.join(copy, 'running', 'global', 'pg_control'));
      expect(await enableDataChecksums(path.join(copy, 'running'))).toBeNull();
      expect(fs.readFileSync(path.join(copy, 'running', 'global', 'pg_control'))).toEqual(before);
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });
});
