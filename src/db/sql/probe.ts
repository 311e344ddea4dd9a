// The capability probe's statement: server version, TimescaleDB installed / packaged, its licence, and
// whether the server preloads it (a server needs shared_preload_libraries = 'timescaledb'). Read through
// pg_settings, which any role may: current_setting('shared_preload_libraries') is refused to roles without
// pg_read_all_settings. The loader's own setting exists only when the library is loaded. The packaged version
// is read only when none is installed (then the one that counts): pg_available_extensions reads the control
// file of every extension on disk. Citus counts only where it is installed (its library is preloaded then).
import type { Sql } from '../types.js';

const probeText = (preloaded: string) => `SELECT current_setting('server_version') AS server_version,
            current_setting('server_version_num')::int AS server_version_num,
            e.installed,
            CASE WHEN e.installed IS NULL
                 THEN (SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb') END AS available,
            current_setting('timescaledb.license', true) AS license,
            ${preloaded} AS preloaded,
            (SELECT extversion FROM pg_extension WHERE extname = 'citus') AS citus
       FROM (SELECT (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS installed) e`;

export const capabilityProbe: Sql = {
  text: probeText("EXISTS (SELECT 1 FROM pg_settings WHERE name = 'timescaledb.max_background_workers')"),
};

/**
 * The probe where nothing needs preloading (the embedded engine loads TimescaleDB itself): without the
 * pg_settings scan, which builds a row for every setting (a tenth of a second through the WASM engine).
 */
export const capabilityProbeWithoutPreload: Sql = { text: probeText('NULL::boolean') };
