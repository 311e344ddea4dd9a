// A damaged embedded data directory: opening it said `Aborted(). Build with -sASSERTIONS for more info.`
// Now one DAMAGED error (exit 8) that names the data directory, what is wrong, and what to do.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/connect.js';
import { IotctlError } from '../../src/errors.js';
import { tempDataDir } from '../helpers/targets.js';

describe('opening a damaged embedded data directory', () => {
  let pristine: string;
  const copies: string[] = [];
  beforeAll(async () => {
    pristine = tempDataDir();
    const db = await openDb({ db: pristine });
    await db.exec('CREATE TABLE kept (id int)');
    await db.close();
  });
  afterAll(() => {
    for (const dir of [pristine, ...copies]) fs.rmSync(dir, { recursive: true, force: true });
  });

  const damaged = (damage: (pgdata: string) => void): string => {
    const dir = tempDataDir();
    copies.push(dir);
    fs.cpSync(pristine, dir, { recursive: true });
    damage(path.join(dir, 'pgdata'));
    return dir;
  };
  const openError = async (dir: string): Promise<IotctlError> => {
    const err = await openDb({ db: dir }).then(
      async (db) => {
        await db.close();
        return null;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(IotctlError);
    return err as IotctlError;
  };

  it.each([
    [
      'global/pg_control deleted',
      (d: string) => fs.rmSync(`${d}/global/pg_control`),
      'global/pg_control is missing',
    ],
    [
      'global/pg_control truncated',
      (d: string) => fs.truncateSync(`${d}/global/pg_control`, 100),
      'global/pg_control is 100 bytes long instead of 8192',
    ],
    [
      'global/pg_control overwritten',
      (d: string) => {
        const fd = fs.openSync(`${d}/global/pg_control`, 'r+');
        fs.writeSync(fd, Buffer.from([0xff, 0xff]), 0, 2, 20);
        fs.closeSync(fd);
      },
      'global/pg_control is corrupt',
    ],
    ['PG_VERSION deleted', (d: string) => fs.rmSync(`${d}/PG_VERSION`), 'PG_VERSION is missing'],
    ['pg_wal deleted', (d: string) => fs.rmSync(`${d}/pg_wal`, { recursive: true }), 'pg_wal/ is missing'],
  ])('%s: DAMAGED, exit 8, naming the directory and the file', async (_name, damage, problem) => {
    const dir = damaged(damage);
    const err = await openError(dir);
    expect(err).toMatchObject({ code: 'DAMAGED', exitCode: 8 });
    expect(err.message.startsWith(`the embedded database in ${dir} is damaged: ${problem}`)).toBe(true);
    expect(err.hint).toMatch(/restore .* from a backup/);
    expect(err.message + err.hint).not.toMatch(/ASSERTIONS|Aborted/);
  });

  it('a catalog file emptied (the engine aborts while opening): DAMAGED, exit 8, no emscripten advice', async () => {
    const dir = damaged((d) => fs.truncateSync(`${d}/global/1262`, 0));
    const err = await openError(dir);
    expect(err).toMatchObject({ code: 'DAMAGED', exitCode: 8 });
    expect(err.message).toMatch(
      new RegExp(`^the embedded database in ${dir} is damaged: the engine stopped`),
    );
    expect(err.message).not.toMatch(/ASSERTIONS/);
  });

  it('the pristine directory still opens (the checks do not reject a whole one)', async () => {
    const db = await openDb({ db: pristine });
    expect((await db.query('SELECT count(*) FROM kept')).rows).toHaveLength(1);
    await db.close();
  });
});
