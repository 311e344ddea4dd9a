// `iotctl ingest` onto a full disk (embedded): it said `internal error: Infinity` and exit 1. Now: one
// clear line and exit 8, the summary of what was committed, and a data directory usable once space is freed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/connect.js';
import { runCli } from '../helpers/cli.js';
import { canMountSmallDisk, mountSmallDisk } from '../helpers/tmpfs.js';

describe.runIf(canMountSmallDisk)('iotctl on a full disk (embedded)', () => {
  let csv: string;
  beforeAll(() => {
    csv = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-full-')), 'big.csv');
    const lines = ['time,device_id,metric,value'];
    const start = Date.UTC(2024, 0, 1);
    for (let i = 0; i < 400_000; i++) {
      lines.push(`${new Date(start + i * 1000).toISOString()},dev-${i % 500},temp,${(i % 97) / 3}`);
    }
    fs.writeFileSync(csv, lines.join('\n') + '\n');
  });
  afterAll(() => fs.rmSync(path.dirname(csv), { recursive: true, force: true }));

  it('ingest stops with one line naming the full disk, exit 8, and the directory works once space is freed', async () => {
    const disk = mountSmallDisk('56m');
    const dir = path.join(disk.dir, 'data');
    try {
      expect((await runCli(['init', '--db', dir, '-q', '--rollups', 'none'])).code).toBe(0);
      const r = await runCli(['ingest', '--db', dir, '--json', csv]);
      expect(r.stderr).not.toMatch(/internal error|Infinity|Aborted/);
      expect(r.stderr).toMatch(new RegExp(`^error: the disk holding ${dir} is full`, 'm'));
      expect(r.stderr).toMatch(/^hint: free some space there/m);
      expect(r.code).toBe(8);
      const summary = JSON.parse(r.stdout) as { loaded: number };
      expect(summary.loaded).toBeGreaterThan(0);
      expect(summary.loaded).toBeLessThan(400_000);

      disk.resize('400m');
      expect((await runCli(['status', '--db', dir])).code).toBe(0);
      const db = await openDb({ db: dir });
      try {
        const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM iotctl.points');
        expect(rows[0]?.n).toBe(summary.loaded);
      } finally {
        await db.close();
      }
    } finally {
      disk.remove();
    }
  });
});
