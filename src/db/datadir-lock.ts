// The embedded data directory's lock file: PGlite must have one process per data directory, so a second
// iotctl fails fast with BUSY instead of corrupting it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IotctlError } from '../errors.js';

const LOCK_FILE = 'iotctl.lock';

/** Lock files this process holds: an in-process second opener is busy, a dead namesake's file is stale. */
const heldLocks = new Set<string>();

/**
 * Takes the data directory's lock file, or fails with BUSY naming the live process that holds it.
 * The file is written under a temporary name and linked into place, so nobody ever reads a half-written
 * lock; a stale one (its pid is gone) is renamed away before a new one is linked.
 */
export function acquireDirLock(dir: string): () => void {
  fs.mkdirSync(dir, { recursive: true });
  const lockPath = path.join(dir, LOCK_FILE);
  const token = `${process.pid}.${Math.random().toString(36).slice(2)}`;
  const content = JSON.stringify({
    pid: process.pid,
    host: os.hostname(),
    started: new Date().toISOString(),
    token,
  });
  const tmp = `${lockPath}.${token}`;
  fs.writeFileSync(tmp, content);
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        fs.linkSync(tmp, lockPath);
        heldLocks.add(lockPath);
        let released = false;
        const release = () => {
          if (released) return;
          released = true;
          heldLocks.delete(lockPath);
          process.removeListener('exit', release);
          try {
            if (fs.readFileSync(lockPath, 'utf8') === content) fs.unlinkSync(lockPath);
          } catch {
            // already gone
          }
        };
        process.on('exit', release);
        return release;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let seen = '';
      let holder: { pid?: number } = {};
      try {
        seen = fs.readFileSync(lockPath, 'utf8');
        holder = JSON.parse(seen);
      } catch {
        // gone meanwhile, or not ours to read: look again
      }
      const alive =
        holder.pid === process.pid ? heldLocks.has(lockPath) : holder.pid ? isAlive(holder.pid) : false;
      if (alive) {
        throw new IotctlError('BUSY', `data directory ${dir} is in use by pid ${holder.pid}`, {
          hint: `the embedded database allows one iotctl at a time; wait for it to finish or use a server (--db postgres://...). If no iotctl is running, delete ${lockPath}`,
        });
      }
      if (!seen) continue;
      // Stale: move it aside, and put it back if what moved was someone's fresh lock after all.
      const aside = `${lockPath}.stale.${token}`;
      try {
        fs.renameSync(lockPath, aside);
      } catch {
        continue;
      }
      if (fs.readFileSync(aside, 'utf8') !== seen) fs.renameSync(aside, lockPath);
      else fs.unlinkSync(aside);
    }
    throw new IotctlError('BUSY', `could not lock data directory ${dir}`, {
      hint: 'another iotctl is starting; try again',
    });
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Whether a process with this pid exists on this machine (EPERM: it exists but is not ours). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
