// `iotctl check`: a chunk's heap file cut to half made `query agg --fn count` return half the counts with
// exit 0, and nothing said so. check reads every table back and reports damage with exit 5.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/connect.js';
import { runCli } from '../helpers/cli.js';
import { makeTarget, targetKinds, tempDataDir } from '../helpers/targets.js';

const checkKeys = [
  'target',
  'targetKind',
  'checksums',
  'relations',
  'rows',
  'damaged',
  'unchecked',
  'healthy',
  'seconds',
];

describe('iotctl check', () => {
  let csv: string;
  let pristine: string;
  const dirs: string[] = [];
  beforeAll(async () => {
    csv = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-check-')), 'readings.csv');
    const lines = ['time,device_id,metric,value'];
    const start = Date.UTC(2024, 0, 1);
    for (let i = 0; i < 60_000; i++)
      lines.push(`${new Date(start + i * 5000).toISOString()},dev-${i % 20},temp,${i % 50}`);
    fs.writeFileSync(csv, lines.join('\n') + '\n');
    pristine = tempDataDir();
    expect((await runCli(['init', '--db', pristine, '-q', '--rollups', 'none'])).code).toBe(0);
    expect((await runCli(['ingest', '--db', pristine, '-q', csv])).code).toBe(0);
  });
  afterAll(() => {
    for (const dir of [pristine, ...dirs, path.dirname(csv)])
      fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A copy of the loaded data directory, and the file of its largest chunk. */
  const copyWithChunkFile = async (): Promise<{ dir: string; chunk: string; file: string }> => {
    const dir = tempDataDir();
    dirs.push(dir);
    fs.cpSync(pristine, dir, { recursive: true });
    const db = await openDb({ db: dir });
    const { rows } = await db.query<{ chunk: string; file: string }>(
      `SELECT format('%s.%s', chunk_schema, chunk_name) AS chunk,
              pg_relation_filepath(format('%I.%I', chunk_schema, chunk_name)::regclass) AS file
         FROM timescaledb_information.chunks WHERE hypertable_name = 'points'
        ORDER BY pg_relation_size(format('%I.%I', chunk_schema, chunk_name)::regclass) DESC LIMIT 1`,
    );
    await db.close();
    return { dir, chunk: rows[0]!.chunk, file: path.join(dir, 'pgdata', rows[0]!.file) };
  };

  it('a healthy embedded data directory: exit 0, data checksums on, the JSON shape pinned', async () => {
    const r = await runCli(['check', '--db', pristine, '--json']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(Object.keys(result)).toEqual(checkKeys);
    expect(result).toMatchObject({ targetKind: 'embedded', checksums: true, damaged: [], healthy: true });
    expect(result.rows).toBeGreaterThanOrEqual(60_000);
    expect(result.relations).toBeGreaterThan(10);
  });

  it('a chunk file cut to half: exit 5, the chunk named', async () => {
    const { dir, chunk, file } = await copyWithChunkFile();
    const size = fs.statSync(file).size;
    fs.truncateSync(file, Math.floor(size / 2 / 8192) * 8192);
    const r = await runCli(['check', '--db', dir, '--json']);
    expect(r.code).toBe(5);
    const result = JSON.parse(r.stdout);
    expect(result.healthy).toBe(false);
    expect(result.damaged).toEqual([
      { relation: chunk, problem: expect.stringMatching(/could not read block|pages are missing/) },
    ]);
    const table = await runCli(['check', '--db', dir]);
    expect(table.code).toBe(5);
    expect(table.stdout).toContain(`damaged: ${chunk}: `);
  });

  it('a flipped byte in a chunk: exit 5, the page named', async () => {
    const { dir, chunk, file } = await copyWithChunkFile();
    const fd = fs.openSync(file, 'r+');
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, 2 * 8192 + 5000);
    byte[0] = (byte[0] as number) ^ 0x40;
    fs.writeSync(fd, byte, 0, 1, 2 * 8192 + 5000);
    fs.closeSync(fd);
    const r = await runCli(['check', '--db', dir, '--json']);
    expect(r.code).toBe(5);
    expect(JSON.parse(r.stdout).damaged).toEqual([
      { relation: chunk, problem: expect.stringMatching(/invalid page in block 2/) },
    ]);
  });

  it('pg_control deleted: status says so in one line with exit 8 (not Aborted()); check reports it with exit 5', async () => {
    const dir = tempDataDir();
    dirs.push(dir);
    fs.cpSync(pristine, dir, { recursive: true });
    fs.rmSync(path.join(dir, 'pgdata', 'global', 'pg_control'));
    const status = await runCli(['status', '--db', dir]);
    expect(status.code).toBe(8);
    expect(status.stderr).toBe(
      `error: the embedded database in ${dir} is damaged: global/pg_control is missing\n` +
        `hint: restore ${dir} from a backup; or keep it as it is, start afresh in another directory (iotctl --db NEW_DIR init) and load the data again\n`,
    );
    const r = await runCli(['check', '--db', dir, '--json']);
    expect(r.code).toBe(5);
    expect(JSON.parse(r.stdout).damaged).toEqual([
      { relation: '(data directory)', problem: expect.stringContaining('global/pg_control is missing') },
    ]);
  });

  it.each(targetKinds.filter((k) => k !== 'embedded'))(
    'a healthy database on the %s target: exit 0',
    async (kind) => {
      const db = await makeTarget(kind);
      try {
        expect((await runCli(['init', '--db', db.spec, '-q'])).code).toBe(0);
        expect((await runCli(['ingest', '--db', db.spec, '-q', csv])).code).toBe(0);
        const r = await runCli(['check', '--db', db.spec, '--json']);
        expect(r.code).toBe(0);
        const result = JSON.parse(r.stdout);
        expect(Object.keys(result)).toEqual(checkKeys);
        expect(result).toMatchObject({ targetKind: 'server', damaged: [], healthy: true });
        expect(result.rows).toBeGreaterThanOrEqual(60_000);
      } finally {
        await db.cleanup();
      }
    },
  );
});
