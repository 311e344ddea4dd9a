// A full disk under the embedded database: a clear DISK_FULL error (exit 8), never `internal error:
// Infinity`, and a data directory that works again, with every committed batch, once space is freed.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/connect.js';
import { IotctlError } from '../../src/errors.js';
import { canMountSmallDisk, mountSmallDisk } from '../helpers/tmpfs.js';

const BATCH = 20_000;
const batch = (n: number) =>
  Array.from({ length: BATCH }, (_, i) => `${n * BATCH + i}\t${'x'.repeat(80)}${i}\n`).join('');

describe.runIf(canMountSmallDisk)('a full disk under the embedded database', () => {
  it('stops with DISK_FULL naming the data directory, and works again once space is freed', async () => {
    const disk = mountSmallDisk('40m');
    const dataDir = path.join(disk.dir, 'data');
    try {
      const db = await openDb({ db: dataDir });
      await db.exec('CREATE TABLE filler (id int PRIMARY KEY, pad text)');
      let committed = 0;
      let failure: unknown;
      for (let n = 0; n < 100 && !failure; n++) {
        try {
          await db.transaction((tx) => tx.copyFrom('COPY filler (id, pad) FROM STDIN', batch(n)));
          committed += BATCH;
        } catch (err) {
          failure = err;
        }
      }
      expect(failure).toBeInstanceOf(IotctlError);
      expect(failure).toMatchObject({ code: 'DISK_FULL', exitCode: 8 });
      expect((failure as IotctlError).message).toContain(`the disk holding ${dataDir} is full`);
      expect(committed).toBeGreaterThan(0);
      // Closing writes a checkpoint, which may fail too: if so, as DISK_FULL, not as a bare number.
      const closing = await db.close().then(
        () => null,
        (err: unknown) => err,
      );
      if (closing) expect(closing).toMatchObject({ code: 'DISK_FULL' });

      disk.resize('200m');
      const again = await openDb({ db: dataDir });
      try {
        const { rows } = await again.query<{ n: number }>('SELECT count(*)::int AS n FROM filler');
        expect(rows[0]?.n).toBe(committed);
        await again.transaction((tx) => tx.copyFrom('COPY filler (id, pad) FROM STDIN', batch(1000)));
      } finally {
        await again.close();
      }
    } finally {
      disk.remove();
    }
  });
});
