// The capability probe: server version, and whether TimescaleDB is installed, available or absent.
import type { Capabilities, Queryable } from './types.js';

export async function probeCapabilities(db: Queryable): Promise<Capabilities> {
  const { rows } = await db.query<{
    server_version: string;
    server_version_num: number;
    installed: string | null;
    available: string | null;
    license: string | null;
  }>(
    `SELECT current_setting('server_version') AS server_version,
            current_setting('server_version_num')::int AS server_version_num,
            (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS installed,
            (SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb') AS available,
            current_setting('timescaledb.license', true) AS license`,
  );
  const row = rows[0];
  if (!row) throw new Error('capability probe returned no row');
  const state = row.installed ? 'installed' : row.available ? 'available' : 'absent';
  return {
    serverVersion: row.server_version.split(' ')[0] as string,
    serverVersionNum: Number(row.server_version_num),
    timescale: {
      state,
      version: row.installed ?? row.available ?? null,
      license: state === 'absent' ? null : (row.license ?? null),
    },
  };
}
