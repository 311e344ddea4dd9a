// The rejects file: one NDJSON object a line, {"file","line","reason","detail","raw"}, so it can be
// fixed up and re-ingested, or read with jq.
import fs from 'node:fs';
import { once } from 'node:events';
import { IotctlError } from '../errors.js';

export interface RejectLine {
  file: string;
  line: number;
  reason: string;
  detail: string;
  raw: string;
}

export class RejectsFile {
  private readonly out: fs.WriteStream;
  private waiting = false;

  constructor(readonly path: string) {
    this.out = fs.createWriteStream(path, { flags: 'w' });
    this.out.on('error', () => undefined);
  }

  write(r: RejectLine): void {
    if (!this.out.write(JSON.stringify(r) + '\n')) this.waiting = true;
  }

  /** Waits for the file to drain when it is behind (backpressure for floods of bad rows). */
  async drain(): Promise<void> {
    if (!this.waiting) return;
    this.waiting = false;
    await once(this.out, 'drain');
  }

  async close(): Promise<void> {
    if (this.out.errored)
      throw new IotctlError(
        'INPUT',
        `cannot write the rejects file ${this.path}: ${this.out.errored.message}`,
      );
    await new Promise<void>((resolve, reject) =>
      this.out.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
  }
}
