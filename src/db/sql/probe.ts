// The capability probe's statement: server version, TimescaleDB installed / packaged, its licence, and
// whether the server preloads it (a server needs shared_preload_libraries = 'timescaledb').
import type { Sql } from '../types.js';

export const capabilityProbe: Sql = {
  text: `SELECT current_setting('server_version') AS server_version,
            current_setting('server_version_num')::int AS server_version_num,
            (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS installed,
            (SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb') AS available,
            current_setting('timescaledb.license', true) AS license,
            current_setting('shared_preload_libraries', true) AS preload`,
};
