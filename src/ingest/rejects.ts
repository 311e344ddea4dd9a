// The rejects file: one NDJSON object a line, {"file","line","reason","detail","raw"} (plus "rawBase64",
// the line's bytes, when they are not valid UTF-8), so it can be fixed up and re-ingested, or read with jq.
// It copies raw input lines: created 0600, never through a symbolic link.
import fs from 'node:fs';
import { once } from 'node:events';
import { IotctlError } from '../errors.js';

export interface RejectLine {
  file: string;
  line: number;
  reason: string;
  detail: string;
  raw: string;
  rawBase64?: string;
}

const OPEN_FLAGS =
  fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | (fs.constants.O_NOFOLLOW ?? 0);

function reasonText(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return 'no such directory';
    case 'EISDIR':
      return 'it is a directory';
    case 'ELOOP':
      return 'it is a symbolic link (name the file it points to)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EROFS':
      return 'read-only file system';
    default:
      return err.message;
  }
}

export function rejectsFileError(path: string, err: unknown): IotctlError {
  return new IotctlError(
    'INPUT',
    `cannot write the rejects file ${path}: ${reasonText(err as NodeJS.ErrnoException)}`,
    {
      cause: err,
    },
  );
}

export class RejectsFile {
  private readonly out: fs.WriteStream;
  private waiting = false;
  private failure: unknown;
  private closed = false;

  /** Opens (creates or truncates) the file now, so a bad path fails before any input is read. */
  static open(path: string): RejectsFile {
    let fd: number;
    try {
      fd = fs.openSync(path, OPEN_FLAGS, 0o600);
    } catch (err) {
      throw rejectsFileError(path, err);
    }
    return new RejectsFile(path, fd);
  }

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.out = fs.createWriteStream(path, { fd });
    this.out.on('error', (err) => (this.failure ??= err));
  }

  write(r: RejectLine): void {
    if (this.failure) return;
    if (!this.out.write(JSON.stringify(r) + '\n')) this.waiting = true;
  }

  /** Throws once a write has failed (a full disk): the ingest stops rather than lose rejected rows. */
  check(): void {
    if (this.failure) throw rejectsFileError(this.path, this.failure);
  }

  /** Waits for the file to drain when it is behind (backpressure for floods of bad rows). */
  async drain(): Promise<void> {
    this.check();
    if (!this.waiting) return;
    this.waiting = false;
    try {
      await once(this.out, 'drain');
    } catch (err) {
      this.failure ??= err;
    }
    this.check();
  }

  /** Writes out everything and closes the file; throws when a write failed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.out.destroyed) {
      await new Promise<void>((resolve) =>
        this.out.end((err?: Error | null) => {
          if (err) this.failure ??= err;
          resolve();
        }),
      );
    }
    this.check();
  }
}
