import { describe, expect, it } from 'vitest';
import { redact } from '../../src/db/redact.js';
import { defaultDataDir, keywordStringToUrl, resolveTarget } from '../../src/db/target.js';

describe('target resolution', () => {
  it('follows the documented order: --db, IOTCTL_DATABASE_URL, DATABASE_URL, PG*, embedded', () => {
    const env = {
      IOTCTL_DATABASE_URL: 'postgres://a@h1/db1',
      DATABASE_URL: 'postgres://b@h2/db2',
      PGHOST: 'h3',
      IOTCTL_DATA_DIR: '/data/x',
    };
    expect(resolveTarget({ db: 'postgres://z@h0/db0', env }).display).toBe('postgres://z@h0/db0');
    expect(resolveTarget({ env }).display).toBe('postgres://a@h1/db1');
    expect(resolveTarget({ env: { ...env, IOTCTL_DATABASE_URL: '' } }).display).toBe('postgres://b@h2/db2');
    const pg = resolveTarget({ env: { PGHOST: 'h3', PGUSER: 'u', PGDATABASE: 'iot', PGPASSWORD: 'pw' } });
    expect(pg).toMatchObject({
      kind: 'server',
      display: 'postgres://u:***@h3:5432/iot',
      source: 'PG* variables',
    });
    expect(resolveTarget({ env: { IOTCTL_DATA_DIR: '/data/x' } })).toMatchObject({
      kind: 'embedded',
      dataDir: '/data/x',
    });
  });

  it('a path or file: URL is an embedded data directory', () => {
    expect(resolveTarget({ db: '/tmp/iot', env: {} })).toMatchObject({
      kind: 'embedded',
      dataDir: '/tmp/iot',
    });
    expect(resolveTarget({ db: 'file:///var/lib/iot', env: {} })).toMatchObject({ dataDir: '/var/lib/iot' });
  });

  it('the default data directory follows XDG_DATA_HOME, else ~/.local/share', () => {
    if (process.platform !== 'linux') return;
    expect(defaultDataDir({ XDG_DATA_HOME: '/xdg' })).toBe('/xdg/iotctl');
    expect(defaultDataDir({})).toMatch(/\/\.local\/share\/iotctl$/);
  });

  it('never shows the password, and collects it for scrubbing', () => {
    const t = resolveTarget({
      db: 'postgres://bob:s3cr%40t@db.example.com:6543/iot?sslmode=require',
      env: {},
    });
    expect(t.display).toBe('postgres://bob:***@db.example.com:6543/iot?sslmode=require');
    expect(redact('failed for bob with s3cr@t and s3cr%40t', t)).toBe('failed for bob with *** and ***');
  });

  it('reads libpq keyword strings', () => {
    expect(
      keywordStringToUrl("host=db port=5433 dbname=iot user=bob password='a b' sslmode=verify-full"),
    ).toBe('postgres://bob:a%20b@db:5433/iot?sslmode=verify-full');
    const t = resolveTarget({ db: "host=db dbname=iot password='p w'", env: {} });
    expect(t.kind).toBe('server');
    expect(t.display).toBe('postgres://:***@db/iot');
    expect(t.secrets).toContain('p w');
  });

  it('redacts passwords given as query parameters, and URL passwords of no resolved target', () => {
    const t = resolveTarget({ db: 'postgres://bob@db/iot?password=hunter2&sslpassword=k3y', env: {} });
    expect(t.display).toBe('postgres://bob@db/iot?password=***&sslpassword=***');
    expect(redact('failed: hunter2 k3y', t)).toBe('failed: *** ***');
    expect(redact("unknown command 'postgres://u:pw-123@h/db'", undefined)).toBe(
      "unknown command 'postgres://u:***@h/db'",
    );
    expect(redact("host=h password='a b' dbname=x", undefined)).toBe('host=h password=*** dbname=x');
  });

  it('a malformed percent-encoded password is a secret, not a crash', () => {
    const t = resolveTarget({ db: 'postgres://bob:a%zz@db/iot', env: {} });
    expect(t.display).toBe('postgres://bob:***@db/iot');
  });
});
