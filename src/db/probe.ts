// The capability probe: server version, and whether TimescaleDB is installed, available, packaged but not
// preloaded (a server only: the embedded build loads it itself), or absent.
import { capabilityProbe, capabilityProbeWithoutPreload } from './sql/probe.js';
import type { Capabilities, Queryable, TimescaleState } from './types.js';

export interface ProbeRow {
  server_version: string;
  server_version_num: number;
  installed: string | null;
  /** The packaged default version; only read (non-null) when none is installed. */
  available: string | null;
  license: string | null;
  /** The TimescaleDB loader's settings exist: the library is loaded (preloaded on a server); null where not read. */
  preloaded: boolean | null;
  /** The installed Citus version (absent from rows built before Citus was probed). */
  citus?: string | null;
}

export function capabilitiesFrom(row: ProbeRow, opts: { needsPreload: boolean }): Capabilities {
  let state: TimescaleState = row.installed ? 'installed' : row.available ? 'available' : 'absent';
  // Without the preload, CREATE EXTENSION fails (XX000) and an installed extension cannot run.
  if (state !== 'absent' && opts.needsPreload && !row.preloaded) state = 'not-preloaded';
  return {
    serverVersion: row.server_version.split(' ')[0] as string,
    serverVersionNum: Number(row.server_version_num),
    timescale: {
      state,
      version: row.installed ?? row.available ?? null,
      license: state === 'absent' || state === 'not-preloaded' ? null : (row.license ?? null),
    },
    citus: row.citus ?? null,
  };
}

export async function probeCapabilities(
  db: Queryable,
  opts: { needsPreload: boolean },
): Promise<Capabilities> {
  const sql = opts.needsPreload ? capabilityProbe : capabilityProbeWithoutPreload;
  const row = (await db.query<ProbeRow>(sql)).rows[0];
  if (!row) throw new Error('capability probe returned no row');
  return capabilitiesFrom(row, opts);
}
