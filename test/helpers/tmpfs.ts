// A size-limited filesystem for full-disk tests: a tmpfs mounted over a temporary directory (root on Linux).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface SmallDisk {
  dir: string;
  resize(size: string): void;
  remove(): void;
}

export function mountSmallDisk(size: string): SmallDisk {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-small-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
  return {
    dir,
    resize: (next) => execFileSync('mount', ['-o', `remount,size=${next}`, dir], { stdio: 'ignore' }),
    remove: () => {
      // Lazily: PGlite may keep descriptors open in the process until it exits.
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether this process may mount one (root on Linux with tmpfs); the full-disk suites skip otherwise. */
export const canMountSmallDisk: boolean = (() => {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  try {
    mountSmallDisk('1m').remove();
    return true;
  } catch {
    return false;
  }
})();
