// The embedded data directory's lock file: PGlite must have one process per data directory, so a second
// iotctl works through the holder (the socket its record names) instead of opening the files itself, and
// a lock nobody holds any more never blocks.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IotctlError } from '../errors.js';

const LOCK_FILE = 'iotctl.lock';

/** Lock files this process holds: an in-process second opener is busy, a dead namesake's file is stale. */
const heldLocks = new Set<string>();

export interface LockRecord {
  pid?: number;
  host?: string;
  started?: string;
  token?: string;
  /** The holder's start time in clock ticks since boot (/proc/<pid>/stat), so a reused pid is not it. */
  procStart?: string;
  /** The kernel boot the holder ran under (/proc/sys/kernel/random/boot_id). */
  bootId?: string;
  /** The directory of the Unix socket (`.s.PGSQL.5432`) the holder serves the database on, once it does. */
  socket?: string;
  /** The holder serves the directory to other processes (once `socket` is set): they wait for it. */
  sharing?: boolean;
}

/** A lock file this process holds. */
export interface HeldLock {
  release(): void;
  /** Rewrites the record with these fields added (atomically: readers see the old or the new one). */
  update(fields: Partial<LockRecord>): void;
}

/**
 * Takes the data directory's lock file, or fails with BUSY naming the live process that holds it.
 * The file is written under a temporary name and linked into place, so nobody ever reads a half-written
 * lock; a stale one (see holderIsLive) is renamed away before a new one is linked.
 */
export function acquireDirLock(dir: string): () => void {
  const got = tryLockDir(dir);
  if ('holder' in got) throw busyError(dir, got.holder);
  return got.release;
}

export function busyError(dir: string, holder: LockRecord): IotctlError {
  return new IotctlError('BUSY', `data directory ${dir} is in use by pid ${holder.pid}`, {
    hint: 'wait for it to finish, or use a server (--db postgres://...)',
  });
}

/** The data directory's lock, or the record of the live process that holds it. */
export function tryLockDir(dir: string, fields: Partial<LockRecord> = {}): HeldLock | { holder: LockRecord } {
  fs.mkdirSync(dir, { recursive: true });
  return tryLockFile(path.join(dir, LOCK_FILE), fields);
}

/**
 * A lock file beside the data directory's own, for a lock every process sharing the directory must see
 * (PGlite is one session, so a session advisory lock cannot tell two iotctl processes apart).
 * Null when a live process holds it.
 */
export function tryKeyLock(dir: string, key: bigint): HeldLock | null {
  const got = tryLockFile(path.join(dir, `${LOCK_FILE}.${key}`));
  return 'holder' in got ? null : got;
}

/** The record of the process holding the data directory now, if that process is live. */
export function dirLockHolder(dir: string): LockRecord | null {
  const lockPath = path.join(dir, LOCK_FILE);
  let text: string;
  try {
    text = fs.readFileSync(lockPath, 'utf8');
  } catch {
    return null;
  }
  const holder = parseLock(text);
  return holder && holderIsLive(holder, lockPath) ? holder : null;
}

function tryLockFile(lockPath: string, fields: Partial<LockRecord> = {}): HeldLock | { holder: LockRecord } {
  const token = `${process.pid}.${Math.random().toString(36).slice(2)}`;
  const record: LockRecord = {
    pid: process.pid,
    host: os.hostname(),
    started: new Date().toISOString(),
    token,
  };
  const self = processIdentity(process.pid);
  if (self) Object.assign(record, self);
  Object.assign(record, fields);
  let content = JSON.stringify(record);
  const tmp = `${lockPath}.${token}`;
  fs.writeFileSync(tmp, content, { mode: 0o600 });
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
        const update = (fields: Partial<LockRecord>) => {
          if (released) return;
          const next = JSON.stringify({ ...(JSON.parse(content) as LockRecord), ...fields });
          const staged = `${lockPath}.${token}.next`;
          fs.writeFileSync(staged, next, { mode: 0o600 });
          fs.renameSync(staged, lockPath);
          content = next;
        };
        process.on('exit', release);
        return { release, update };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let seen: string;
      try {
        seen = fs.readFileSync(lockPath, 'utf8');
      } catch {
        continue; // gone meanwhile: link again
      }
      const holder = parseLock(seen);
      if (holder && holderIsLive(holder, lockPath)) return { holder };
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
    throw new IotctlError('BUSY', `could not take the lock ${lockPath}`, {
      hint: 'another iotctl is starting; try again',
    });
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** The lock's record, or null for an empty or unreadable one (iotctl never leaves such a file: stale). */
function parseLock(text: string): LockRecord | null {
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === 'object' && Number.isInteger((value as LockRecord).pid)) {
      return value as LockRecord;
    }
  } catch {
    // not JSON
  }
  return null;
}

/**
 * Whether the process a lock names still holds it. A pid alone is not enough: after a reboot or a
 * container restart the pid is often some other live process. Where /proc tells, the holder must be the
 * very process that wrote the lock (same boot, same start time), or, for a lock that does not say
 * (written by an older iotctl), a process running iotctl. Without /proc a live pid is taken as the holder.
 */
function holderIsLive(holder: LockRecord, lockPath: string): boolean {
  const pid = holder.pid as number;
  if (pid === process.pid) return heldLocks.has(lockPath);
  if (!isAlive(pid)) return false;
  const now = processIdentity(pid);
  if (!now) return true;
  if (holder.procStart !== undefined && holder.bootId !== undefined) {
    return holder.procStart === now.procStart && holder.bootId === now.bootId;
  }
  const argv = commandLine(pid);
  return argv === null || argv.some((arg) => /^iotctl(\.js)?$/.test(path.basename(arg)));
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

/** The process's start time and the boot id, from /proc; null where /proc does not exist or tell. */
function processIdentity(pid: number): { procStart: string; bootId: string } | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself contain spaces and parentheses; starttime is field 22.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const procStart = fields[19];
    const bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return procStart && bootId ? { procStart, bootId } : null;
  } catch {
    return null;
  }
}

function commandLine(pid: number): string[] | null {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return null;
  }
}
