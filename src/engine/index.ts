// Choosing the storage engine: the one place that maps the stored engine name (and the server's
// capabilities) to an implementation. A new engine is one more case here plus its own module.
import { parseTsdbVersion } from '../db/sql/timescale.js';
import type { Capabilities } from '../db/types.js';
import { IotctlError } from '../errors.js';
import { CitusEngine } from './citus.js';
import { PlainEngine } from './plain.js';
import { TimescaleEngine } from './timescaledb.js';
import type { EngineName, StorageEngine } from './types.js';

export const engineNames: readonly EngineName[] = ['timescaledb', 'plain', 'citus'];

/**
 * The engine a new store gets on this target: Citus where its extension is installed (a coordinator),
 * TimescaleDB where it is installed or available, else plain.
 */
export function defaultEngineName(caps: Capabilities): EngineName {
  if (caps.citus) return 'citus';
  return caps.timescale.state === 'absent' ? 'plain' : 'timescaledb';
}

export function engineFor(name: EngineName, caps: Capabilities): StorageEngine {
  switch (name) {
    case 'timescaledb': {
      if (caps.timescale.state === 'not-preloaded') {
        throw new IotctlError(
          'CONFIG',
          `TimescaleDB ${caps.timescale.version} is packaged on this server but not preloaded, so it cannot be used`,
          {
            hint: "add shared_preload_libraries = 'timescaledb' to postgresql.conf and restart PostgreSQL; or use plain PostgreSQL mode: iotctl init --plain",
          },
        );
      }
      if (!caps.timescale.version) {
        throw new IotctlError(
          'NEEDS_TIMESCALEDB',
          'this store was set up with TimescaleDB, which this server does not have',
        );
      }
      return new TimescaleEngine(parseTsdbVersion(caps.timescale.version), caps);
    }
    case 'plain':
      return new PlainEngine();
    case 'citus':
      if (!caps.citus) {
        throw new IotctlError(
          'CONFIG',
          'the Citus engine needs the citus extension, which this database does not have',
          {
            hint: "on a Citus coordinator: CREATE EXTENSION citus (with shared_preload_libraries = 'citus'), then add the workers with citus_add_node",
          },
        );
      }
      return new CitusEngine(caps.citus);
  }
}
