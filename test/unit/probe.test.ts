// Telling the TimescaleDB states apart from the probe's row: installed, available, packaged but not
// preloaded (init then refuses, saying what to add), absent.
import { describe, expect, it } from 'vitest';
import { capabilitiesFrom, type ProbeRow } from '../../src/db/probe.js';
import { capabilityProbe, capabilityProbeWithoutPreload } from '../../src/db/sql/probe.js';
import { defaultEngineName, engineFor } from '../../src/engine/index.js';

const row = (over: Partial<ProbeRow>): ProbeRow => ({
  server_version: '15.18 (Debian 15.18-0+deb12u1)',
  server_version_num: 150018,
  installed: null,
  available: '2.28.3',
  license: 'timescale',
  preloaded: true,
  ...over,
});

describe('capability probe', () => {
  it('reads the preload setting with the versions', () => {
    // Through pg_settings: current_setting('shared_preload_libraries') is refused to ordinary roles.
    expect(capabilityProbe.text).toContain(
      "EXISTS (SELECT 1 FROM pg_settings WHERE name = 'timescaledb.max_background_workers') AS preloaded",
    );
    expect(capabilityProbe.text).not.toContain('shared_preload_libraries');
  });

  it('where nothing needs preloading (embedded), reads no pg_settings: it builds a row per setting', () => {
    expect(capabilityProbeWithoutPreload.text).not.toContain('pg_settings');
    expect(capabilityProbeWithoutPreload.text).toContain('NULL::boolean AS preloaded');
    expect(capabilityProbeWithoutPreload.text.replace('NULL::boolean', '')).toBe(
      capabilityProbe.text.replace(
        "EXISTS (SELECT 1 FROM pg_settings WHERE name = 'timescaledb.max_background_workers')",
        '',
      ),
    );
  });

  it('a package without the preload is not-preloaded on a server, not available', () => {
    const caps = capabilitiesFrom(row({ preloaded: false, license: null }), { needsPreload: true });
    expect(caps.timescale).toEqual({ state: 'not-preloaded', version: '2.28.3', license: null });
    expect(caps.serverVersion).toBe('15.18');
    // installed but no longer preloaded cannot run either
    expect(
      capabilitiesFrom(row({ installed: '2.28.3', preloaded: false }), { needsPreload: true }).timescale
        .state,
    ).toBe('not-preloaded');
  });

  it('preloaded, or the embedded build that loads it itself, is available / installed', () => {
    expect(capabilitiesFrom(row({}), { needsPreload: true }).timescale.state).toBe('available');
    expect(
      capabilitiesFrom(row({ installed: '2.23.0', preloaded: false }), { needsPreload: false }).timescale,
    ).toEqual({
      state: 'installed',
      version: '2.23.0',
      license: 'timescale',
    });
    expect(
      capabilitiesFrom(row({ available: null, preloaded: false }), { needsPreload: true }).timescale.state,
    ).toBe('absent');
  });

  it('reads the packaged version only when none is installed: the installed one is what counts', () => {
    // pg_available_extensions reads the control file of every extension on disk, on every command.
    expect(capabilityProbe.text).toMatch(
      /CASE WHEN e\.installed IS NULL\s+THEN \(SELECT default_version FROM pg_available_extensions/,
    );
    expect(
      capabilitiesFrom(row({ installed: '2.23.0', available: null }), { needsPreload: false }).timescale,
    ).toEqual({ state: 'installed', version: '2.23.0', license: 'timescale' });
  });

  it('init on such a server refuses with exit 2, says what to add, and offers --plain', () => {
    const caps = capabilitiesFrom(row({ preloaded: false }), { needsPreload: true });
    expect(defaultEngineName(caps)).toBe('timescaledb');
    let err: unknown;
    try {
      engineFor('timescaledb', caps);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/packaged on this server but not preloaded/),
      hint: expect.stringMatching(/shared_preload_libraries = 'timescaledb'.*init --plain/),
    });
    expect(engineFor('plain', caps).name).toBe('plain');
  });
});
