// The embedded data directory's lock file: one holder at a time, stale locks taken over, never two holders.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
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

  describe('a lock nobody holds any more never blocks', () => {
    const children: ChildProcess[] = [];
    afterEach(() => {
      for (const child of children.splice(0)) child.kill('SIGKILL');
    });
    /** A live process that is not iotctl, as a pid in an old lock file often is after a reboot. */
    const otherProcess = () => {
      const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
      children.push(child);
      return child.pid as number;
    };

    it('an empty iotctl.lock is taken over', () => {
      const dir = tempDataDir();
      fs.writeFileSync(path.join(dir, 'iotctl.lock'), '');
      const release = acquireDirLock(dir);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'iotctl.lock'), 'utf8')).pid).toBe(process.pid);
      release();
      expect(fs.readdirSync(dir)).toEqual([]);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('a lock that is not JSON is taken over', () => {
      const dir = tempDataDir();
      fs.writeFileSync(path.join(dir, 'iotctl.lock'), 'garbage\n');
      acquireDirLock(dir)();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it.runIf(fs.existsSync('/proc/self/stat'))(
      'a lock naming a live pid that is not an iotctl process is taken over',
      () => {
        const dir = tempDataDir();
        const pid = otherProcess();
        fs.writeFileSync(path.join(dir, 'iotctl.lock'), JSON.stringify({ pid, host: 'before-reboot' }));
        const release = acquireDirLock(dir);
        expect(JSON.parse(fs.readFileSync(path.join(dir, 'iotctl.lock'), 'utf8')).pid).toBe(process.pid);
        release();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    );

    it.runIf(fs.existsSync('/proc/self/stat'))(
      'a lock whose pid was reused by another process (other start time) is taken over',
      () => {
        const dir = tempDataDir();
        const pid = otherProcess();
        const bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
        fs.writeFileSync(path.join(dir, 'iotctl.lock'), JSON.stringify({ pid, procStart: '1', bootId }));
        acquireDirLock(dir)();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    );

    it('a lock written by a live process is respected, and its message asks no one to delete files', () => {
      const dir = tempDataDir();
      const release = acquireDirLock(dir);
      const record = JSON.parse(fs.readFileSync(path.join(dir, 'iotctl.lock'), 'utf8'));
      if (fs.existsSync('/proc/self/stat')) expect(record.procStart).toMatch(/^\d+$/);
      let error: { message: string; hint?: string } | undefined;
      try {
        acquireDirLock(dir);
      } catch (err) {
        error = err as { message: string; hint?: string };
      }
      expect(error?.message).toContain(`is in use by pid ${process.pid}`);
      expect(error?.hint).not.toMatch(/delete|remove|rm /i);
      release();
      fs.rmSync(dir, { recursive: true, force: true });
    });
  });
});
