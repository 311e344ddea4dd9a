// The work of `iotctl serve`: hold the embedded database, serve it on the address asked for, run
// maintain's due jobs on a schedule, and stop cleanly when told to. Reports through callbacks only.
import fs from 'node:fs';
import path from 'node:path';
import type { EmbeddedDb } from '../db/embedded.js';
import type { ShareEvent } from '../db/share/server.js';
import type { Target } from '../db/types.js';
import { IotctlError } from '../errors.js';
import { maintain } from '../maintenance/maintain.js';

export type ServeAddress = { host: string; port: number } | { socketDir: string };

export interface ServeOptions {
  listen: { host: string; port: number } | null;
  /** A socket directory to serve besides the data directory's own (when listen is null). */
  socketDir: string | null;
  /** How often maintain runs the due jobs; null: never. */
  maintainEveryMs: number | null;
  /** Resolves when serving should stop (a signal), with what to say. */
  stop: Promise<string>;
}

export interface ServeHooks {
  /** Called once listening: the address clients use and the data directory's own socket. */
  ready(address: ServeAddress, dataDirSocket: string | null): Promise<void>;
  event(event: ShareEvent): void;
  notice(message: string, level: 'info' | 'warn'): void;
}

export async function serveEmbedded(target: Target, opts: ServeOptions, hooks: ServeHooks): Promise<void> {
  const { openEmbeddedDb } = await import('../db/embedded.js');
  const db = (await openEmbeddedDb(target, { own: true })) as EmbeddedDb;
  let maintaining: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  try {
    const share = db.share;
    if (!share) throw new IotctlError('DATABASE', `could not serve ${target.display} on a socket`);
    share.onEvent = hooks.event;
    let address: ServeAddress;
    if (opts.listen) {
      const { host, port } = opts.listen;
      const bound = await share.listen({ host, port }).catch((err: NodeJS.ErrnoException) => {
        const why = err.code === 'EADDRINUSE' ? 'the address is in use' : err.message;
        throw new IotctlError('BUSY', `cannot listen on ${host}:${port}: ${why}`, {
          hint: 'pick another port: --listen 127.0.0.1:5433',
        });
      });
      address = { host, port: Number(bound.slice(bound.lastIndexOf(':') + 1)) };
    } else {
      const dir = path.resolve(opts.socketDir as string);
      fs.mkdirSync(dir, { recursive: true });
      // The data directory's own socket is served already.
      if (dir !== share.socketDir) await share.listen({ socketDir: dir });
      address = { socketDir: dir };
    }
    await hooks.ready(address, share.socketDir);
    const every = opts.maintainEveryMs;
    if (every) {
      const runMaintain = async () => {
        try {
          const result = await maintain(db, { dryRun: false, force: false, onNotice: hooks.notice });
          const failed = result.failed ? `, ${result.failed} failed` : '';
          if (result.jobs.length) hooks.notice(`maintain: ran ${result.jobs.length} jobs${failed}`, 'info');
        } catch (err) {
          hooks.notice(`maintain: ${(err as Error).message}`, 'warn');
        }
      };
      const kick = () => {
        maintaining ??= runMaintain().finally(() => (maintaining = null));
      };
      timer = setInterval(kick, every);
      kick();
    }
    hooks.notice(`${await opts.stop}: finishing the statements in flight, then stopping`, 'info');
  } finally {
    if (timer) clearInterval(timer);
    await maintaining;
    await db.close();
  }
}
