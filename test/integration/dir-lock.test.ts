// The embedded data directory's lock file: one holder at a time, stale locks taken over, never two holders.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireDirLock } from '../../src/db/datadir-lock.js';
import { tempDataDir } from '../helpers/targets.js';

describe('data directory lock', () => {
  it('is exclusive in-process, released on release(), and leaves no temporary files', () => {
    const dir = tempDataDir();
    const release = acquireDirLock(dir);
    expect(() => acquireDirLock(dir)).toThrow(/in use by pid/);
    release();
    const again = acquireDirLock(dir);
    again();
    expect(fs.readdirSync(dir)).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('takes over a lock whose pid is this process but which this process does not hold (a restarted PID 1)', () => {
    const dir = tempDataDir();
    fs.writeFileSync(
      path.join(dir, 'iotctl.lock'),
      JSON.stringify({ pid: process.pid, host: 'old-container' }),
    );
    const release = acquireDirLock(dir);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'iotctl.lock'), 'utf8')).host).not.toBe('old-container');
    release();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('takes over the lock of a dead process whatever host it names', () => {
    const dir = tempDataDir();
    // pid 2^22+1 is above Linux's pid_max default and so belongs to no live process.
    fs.writeFileSync(path.join(dir, 'iotctl.lock'), JSON.stringify({ pid: 4194305, host: 'elsewhere' }));
    const release = acquireDirLock(dir);
    release();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
