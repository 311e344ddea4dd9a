import fs from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import {
  engineOf,
  makeTarget,
  serverUrl,
  targetKinds,
  tempDataDir,
  withDatabase,
  type TestTarget,
} from '../helpers/targets.js';

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

const PASSWORD = 'test-secret-pw';

describe('iotctl as a subprocess', () => {
  it('--help lists the commands and the exit codes, on stdout, exit 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Commands:[\s\S]*init[\s\S]*status/);
    expect(r.stdout).toMatch(/Exit codes:[\s\S]*6 +busy/);
    expect(r.stderr).toBe('');
  });

  it('every command and subcommand --help shows examples', async () => {
    const listCommands = (help: string) =>
      [...(help.split(/\nCommands:\n/)[1] ?? '').matchAll(/^ {2}([a-z][a-z-]*)/gm)]
        .map((m) => m[1] as string)
        .filter((c) => c !== 'help');
    const top = listCommands((await runCli(['--help'])).stdout);
    expect(top).toEqual(expect.arrayContaining(['init', 'status']));
    const missing: string[] = [];
    for (const name of top) {
      const r = await runCli([name, '--help']);
      expect(r.code).toBe(0);
      const subs = listCommands(r.stdout);
      if (subs.length === 0 && !/Examples:\n {2}\$ iotctl /.test(r.stdout)) missing.push(name);
      for (const sub of subs) {
        const rs = await runCli([name, sub, '--help']);
        const nested = listCommands(rs.stdout);
        if (nested.length === 0 && !/Examples:\n {2}\$ iotctl /.test(rs.stdout))
          missing.push(`${name} ${sub}`);
        for (const leaf of nested) {
          const rl = await runCli([name, sub, leaf, '--help']);
          if (!/Examples:\n {2}\$ iotctl /.test(rl.stdout)) missing.push(`${name} ${sub} ${leaf}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('an unknown command and a bad flag value are usage errors (exit 2), on stderr', async () => {
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
    const bad = await runCli(['init', '--chunk-interval', 'soon', '--db', tempDataDir()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid --chunk-interval 'soon'/);
    const fmt = await runCli(['status', '--format', 'xml']);
    expect(fmt.code).toBe(2);
  });

  it('a URL typed where a command goes is echoed without its password (exit 2)', async () => {
    const r = await runCli([`postgres://bob:${PASSWORD}@127.0.0.1/iot`, 'status']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'postgres://bob:***@127.0.0.1/iot'");
    expect(r.stderr).not.toContain(PASSWORD);
    const q = await runCli(['status', '--db', `postgres://bob@127.0.0.1:1/iot?password=${PASSWORD}`]);
    expect(q.code).toBe(3);
    expect(q.stderr).not.toContain(PASSWORD);
  });

  it("the target's password is scrubbed from errors that quote another flag, raised while parsing or after", async () => {
    const db = `postgres://bob:${PASSWORD}@127.0.0.1:1/iot`;
    const inAction = await runCli(['init', '--chunk-interval', PASSWORD, '--db', db]);
    expect(inAction.code).toBe(2);
    expect(inAction.stderr).toContain("invalid --chunk-interval '***'");
    const whileParsing = await runCli(['stats', '--db', db, '--top', PASSWORD]);
    expect(whileParsing.code).toBe(2);
    expect(whileParsing.stderr).toContain("got '***'");
    const dbAfter = await runCli(['stats', '--top', PASSWORD, '--db', db]);
    expect(dbAfter.code).toBe(2);
    for (const r of [inAction, whileParsing, dbAfter]) expect(r.stderr).not.toContain(PASSWORD);
  });

  it('a refused port gives one line, the redacted target and exit 3', async () => {
    const port = await closedPort();
    const r = await runCli(['status', '--db', `postgres://bob:${PASSWORD}@127.0.0.1:${port}/iot`]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      `error: cannot connect to postgres://bob:***@127.0.0.1:${port}/iot: connection refused`,
    );
    expect(r.stderr).not.toContain(PASSWORD);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  // Password authentication and SSL: only the PostgreSQL 18 server the setup starts is known to ask for a
  // password and to have SSL off (the servers IOTCTL_TEST_DATABASE_URL and IOTCTL_TEST_CITUS_URL name may trust).
  describe('against the test server', () => {
    it('a wrong password: exit 3, password in no output, --verbose included', async () => {
      const u = new URL(serverUrl());
      const wrong = 'Wr0ng-pass-xyz';
      u.password = wrong;
      const r = await runCli(['status', '--verbose', '--db', u.toString()]);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/authentication failed for postgres:\/\/postgres:\*\*\*@/);
      expect(r.stderr + r.stdout).not.toContain(wrong);
    });

    it('no password for a server that wants one: authentication failed, exit 3', async () => {
      const u = new URL(serverUrl());
      u.password = '';
      const r = await runCli(['status', '--db', u.toString()], { env: { PGPASSWORD: '' } });
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/^error: authentication failed for postgres:\/\/postgres@/);
    });

    it('sslmode=require against a server without SSL: one line, exit 3', async () => {
      const u = new URL(serverUrl());
      u.searchParams.set('sslmode', 'require');
      const r = await runCli(['status', '--db', u.toString()]);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(
        /^error: cannot connect to postgres:\/\/postgres:\*\*\*@.*: the server does not accept SSL connections$/m,
      );
      expect(r.stderr).not.toContain(PASSWORD);
    });
  });

  describe.each(targetKinds.filter((k) => k !== 'embedded'))('against the %s target', (kind) => {
    let target: TestTarget;
    let db: { url: string };
    beforeAll(async () => {
      target = await makeTarget(kind);
      db = { url: target.spec };
    });
    afterAll(async () => target?.cleanup());

    it('permission denied: one line naming the target, a hint, exit 8', async () => {
      const pg = (await import('pg')).default;
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      const role = `iotctl_limited_${process.pid}`;
      try {
        await admin.query(`DROP ROLE IF EXISTS ${role}`);
        await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'limited-pw-123'`);
        const u = new URL(db.url);
        u.username = role;
        u.password = 'limited-pw-123';
        const r = await runCli(['init', '--db', u.toString()]);
        expect(r.code).toBe(8);
        // On TimescaleDB init stops at CREATE EXTENSION, which needs a superuser or CREATE on the database.
        const denied =
          engineOf(kind) === 'timescaledb'
            ? 'cannot create the timescaledb extension on'
            : 'permission denied on';
        expect(r.stderr).toMatch(new RegExp(`error: ${denied} postgres://${role}:\\*\\*\\*@`));
        expect(r.stderr).toMatch(/hint: /);
        expect(r.stderr).not.toContain('limited-pw-123');
      } finally {
        await admin.query(`DROP OWNED BY ${role}`).catch(() => undefined);
        await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
        await admin.end();
      }
    });

    it('an unknown database: one line, exit 3', async () => {
      const r = await runCli(['status', '--db', withDatabase(db.url, 'no_such_db_here')]);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/database does not exist: .*no_such_db_here/);
      expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2); // error + hint
    });

    it('init twice with global options after the command; status --json reports the mode', async () => {
      const first = await runCli(['init', '--db', db.url, '--json']);
      expect(first.code).toBe(0);
      expect(JSON.parse(first.stdout).changed).toBe(true);
      const second = await runCli(['init', '--db', db.url]);
      expect(second.code).toBe(0);
      expect(second.stdout).toMatch(/Nothing changed/);
      const status = await runCli(['status', '--db', db.url, '--json', '-v']);
      expect(status.code).toBe(0);
      const s = JSON.parse(status.stdout);
      expect(s.mode).toBe(engineOf(kind));
      expect(status.stdout + status.stderr).not.toContain(PASSWORD);
      // A server that trusts takes a URL without a password: nothing to replace.
      if (new URL(db.url).password) expect(s.target).toContain(':***@');
    });

    it('stdout closed early (`iotctl query raw | head -1`): exit 0, no stack trace', async () => {
      expect((await runCli(['init', '--db', db.url, '-q'])).code).toBe(0);
      const pg = (await import('pg')).default;
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      await c.query(`INSERT INTO iotctl.series (device_id, metric) VALUES ('pipe-1', 'temp')`);
      const from = new Date(Date.now() - 3 * 86_400_000);
      // Plain mode and Citus: partitions for the three days first, in the store's chunk interval (7 days on
      // Citus). Nothing to do on TimescaleDB.
      const { openDb } = await import('../../src/db/connect.js');
      const { loadStore } = await import('../../src/db/store.js');
      const { ensurePartitions } = await import('../helpers/store.js');
      const store = await openDb({ db: db.url });
      await ensurePartitions(store, await loadStore(store), from, Date.now());
      await store.close();
      await c.query(
        `INSERT INTO iotctl.points SELECT $1::timestamptz + i * interval '1 second', s.id, i
           FROM generate_series(1, 100000) i, iotctl.series s WHERE s.device_id = 'pipe-1'`,
        [from],
      );
      await c.end();
      const { spawn } = await import('node:child_process');
      const { BIN } = await import('../helpers/cli.js');
      const child = spawn(process.execPath, [
        BIN,
        'query',
        'raw',
        '--db',
        db.url,
        '--metric',
        'temp',
        '--since',
        '4d',
        '--format',
        'csv',
      ]);
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.stdout.once('data', () => child.stdout.destroy());
      const code = await new Promise((resolve) => child.on('close', resolve));
      expect(stderr).toBe('');
      expect(code).toBe(0);
    });

    it('stdout closed during the COPY of `query agg --format csv | head -1`: exit 0, no stack trace, no hang', async () => {
      // The readings of the test before; by the second, 100,000 lines (megabytes) stream from the COPY.
      const { spawn } = await import('node:child_process');
      const { BIN } = await import('../helpers/cli.js');
      const args = ['query', 'agg', '--db', db.url, '--metric', 'temp', '--since', '4d'];
      const child = spawn(process.execPath, [
        BIN,
        ...args,
        '--every',
        '1s',
        '--fn',
        'avg',
        '--format',
        'csv',
      ]);
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      let first = '';
      child.stdout.once('data', (d) => {
        first = String(d);
        child.stdout.destroy();
      });
      const code = await new Promise((resolve) => child.on('close', resolve));
      expect(first).toMatch(/^time,device,metric,avg,unit\n/);
      expect(stderr).toBe('');
      expect(code).toBe(0);
    });

    it('--dry-run prints SQL without the password and changes nothing', async () => {
      const fresh = await makeTarget(kind);
      try {
        const r = await runCli(['--db', fresh.spec, 'init', '--dry-run']);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/CREATE TABLE IF NOT EXISTS iotctl\.points/);
        expect(r.stdout).not.toContain(PASSWORD);
        const st = await runCli(['status', '--db', fresh.spec, '--json']);
        expect(JSON.parse(st.stdout).initialised).toBe(false);
        expect(st.code).toBe(5);
      } finally {
        await fresh.cleanup();
      }
    });
  });

  describe('embedded database', () => {
    it('init → status --json reports TimescaleDB; a held data directory gives exit 6', async () => {
      const dir = tempDataDir();
      try {
        const init = await runCli(['init', '--db', dir]);
        expect(init.code).toBe(0);
        expect(init.stdout).toMatch(/set up on embedded database/);
        const status = await runCli(['status', '--json'], { env: { IOTCTL_DATA_DIR: dir } });
        expect(status.code).toBe(0);
        const s = JSON.parse(status.stdout);
        expect(s.mode).toBe('timescaledb');
        expect(s.timescaledb.version).toMatch(/^2\.23/);
        // A live process (this test runner) holds the lock file, taken as iotctl takes it.
        const { acquireDirLock } = await import('../../src/db/datadir-lock.js');
        const release = acquireDirLock(dir);
        const busy = await runCli(['status', '--db', dir]);
        expect(busy.code).toBe(6);
        expect(busy.stderr).toContain(`is in use by pid ${process.pid}`);
        release();
        const after = await runCli(['status', '--db', dir]);
        expect(after.code).toBe(0);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('an empty iotctl.lock, or one naming a live process that is not iotctl, does not block; a live iotctl does', async () => {
      const dir = tempDataDir();
      const lock = `${dir}/iotctl.lock`;
      const { spawn } = await import('node:child_process');
      const { BIN } = await import('../helpers/cli.js');
      const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
      let holder: ReturnType<typeof spawn> | undefined;
      try {
        expect((await runCli(['init', '--db', dir, '-q'])).code).toBe(0);
        fs.writeFileSync(lock, '');
        const empty = await runCli(['status', '--db', dir]);
        expect(empty.code).toBe(0);
        expect(fs.existsSync(lock)).toBe(false);
        fs.writeFileSync(lock, JSON.stringify({ pid: sleeper.pid, host: 'before-reboot' }));
        const other = await runCli(['status', '--db', dir]);
        expect(other.code).toBe(0);
        // A live iotctl (waiting on stdin), its lock rewritten the way an older iotctl wrote it: pid only.
        holder = spawn(process.execPath, [BIN, 'ingest', '--db', dir, '-'], {
          stdio: ['pipe', 'ignore', 'ignore'],
        });
        const deadline = Date.now() + 20_000;
        while (!fs.existsSync(lock) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        fs.writeFileSync(lock, JSON.stringify({ pid: holder.pid }));
        const busy = await runCli(['status', '--db', dir]);
        expect(busy.code).toBe(6);
        expect(busy.stderr).toContain(`is in use by pid ${holder.pid}`);
        expect(busy.stderr).not.toMatch(/delete|remove/i);
      } finally {
        sleeper.kill('SIGKILL');
        holder?.kill('SIGKILL');
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('two processes at once on one data directory: the second works through the first, data intact', async () => {
      const dir = tempDataDir();
      try {
        expect((await runCli(['init', '--db', dir])).code).toBe(0);
        const lock = `${dir}/iotctl.lock`;
        const first = runCli(['init', '--db', dir]);
        const deadline = Date.now() + 20_000;
        while (!fs.existsSync(lock) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        expect(fs.existsSync(lock)).toBe(true);
        const started = Date.now();
        const second = await runCli(['status', '--db', dir, '--json']);
        const secondMs = Date.now() - started;
        expect(second.code, second.stderr).toBe(0);
        expect(JSON.parse(second.stdout).initialised).toBe(true);
        expect(secondMs).toBeLessThan(20_000);
        expect((await first).code).toBe(0);
        expect(fs.existsSync(lock)).toBe(false);
        const status = await runCli(['status', '--db', dir, '--json']);
        expect(status.code).toBe(0);
        expect(JSON.parse(status.stdout).initialised).toBe(true);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
