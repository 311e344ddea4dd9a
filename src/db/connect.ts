// Opens the database a command talks to. pg and PGlite are imported lazily so that `iotctl --help` and
// usage errors never pay for loading them.
import { resolveTarget, type TargetOptions } from './target.js';
import type { Db, Target } from './types.js';

export interface ConnectOptions extends TargetOptions {
  /** A target already resolved (by the CLI, from the parsed --db); otherwise resolved from db and env. */
  target?: Target;
  /** Pool size wanted by the command (ingest workers + 1). */
  poolSize?: number;
  /** Told when a read that failed on a Citus worker is run again (a server only). */
  onRetry?: (message: string) => void;
}

export async function openDb(opts: ConnectOptions = {}): Promise<Db> {
  const target = opts.target ?? resolveTarget(opts);
  if (target.kind === 'server') {
    const { openServerDb } = await import('./server.js');
    return openServerDb(target, { poolSize: opts.poolSize ?? 4, onRetry: opts.onRetry });
  }
  const { openEmbeddedDb } = await import('./embedded.js');
  return openEmbeddedDb(target);
}
