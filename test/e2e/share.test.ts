// Several iotctl processes on one embedded data directory, and `iotctl serve` for any PostgreSQL client:
// the README's live-stdin ingest and its cron line together, psql against serve, a holder killed mid-work.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';
import { tempDataDir } from '../helpers/targets.js';

const psql = spawnSync('psql', ['--version']).status === 0 ? 'psql' : null;

function start(args: string[]): {
  child: ChildProcessWithoutNullStreams;
  out: () => string;
  err: () => string;
} {
  const env = { ...process.env };
  for (const k of ['IOTCTL_DATABASE_URL', 'DATABASE_URL', 'PGHOST', 'PGDATABASE', 'PGSERVICE']) delete env[k];
  const child = spawn(process.execPath, [BIN, ...args], { env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return { child, out: () => stdout, err: () => stderr };
}

const exited = (child: ChildProcessWithoutNullStreams) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.on('close', (code) => resolve(code));
  });

async function until(what: string, test: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const lockOf = (dir: string) => {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'iotctl.lock'), 'utf8')) as {
      pid: number;
      socket?: string;
    };
  } catch {
    return null;
  }
};

const line = (minute: number, value: number, device = 'live-1') =>
  JSON.stringify({
    time: new Date(Date.UTC(2026, 10, 20, 0, minute)).toISOString(),
    device_id: device,
    metric: 'temperature',
    value,
  }) + '\n';

describe('several iotctl processes on one embedded data directory', () => {
  const dirs: string[] = [];
  const children: ChildProcessWithoutNullStreams[] = [];
  const dir = () => {
    const d = tempDataDir();
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it("the README's live-stdin ingest and its cron maintain run together; query, status and a second ingest too", async () => {
    const d = dir();
    expect((await runCli(['init', '--db', d, '-q'])).code).toBe(0);
    const live = start(['ingest', '--db', d, '-', '--input-format', 'ndjson']);
    children.push(live.child);
    for (let m = 0; m < 5; m++) live.child.stdin.write(line(m, 20 + m));
    await until('the live ingest to serve the directory', () => !!lockOf(d)?.socket);

    const file = path.join(d, 'more.csv');
    fs.writeFileSync(
      file,
      'time,device_id,metric,value\n' +
        Array.from(
          { length: 500 },
          (_, i) =>
            `2026-11-19T00:${String(i % 60).padStart(2, '0')}:${String(Math.floor(i / 60)).padStart(2, '0')}Z,file-1,temperature,${i}`,
        ).join('\n') +
        '\n',
    );
    const [latest, status, maintain, second] = await Promise.all([
      runCli(['query', 'latest', '--db', d, '--json']),
      runCli(['status', '--db', d, '--json']),
      runCli(['maintain', '--db', d, '--quiet']),
      runCli(['ingest', '--db', d, file, '--json']),
    ]);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).initialised).toBe(true);
    expect(maintain.code, maintain.stderr).toBe(0);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ read: 500, loaded: 500 });
    expect(latest.code, latest.stderr).toBe(0);
    // Every one of them went through the live ingest: it still holds the directory.
    expect(lockOf(d)?.pid).toBe(live.child.pid);

    for (let m = 5; m < 10; m++) live.child.stdin.write(line(m, 20 + m));
    live.child.stdin.end();
    expect(await exited(live.child), live.err()).toBe(0);
    expect(live.out() + live.err()).toMatch(/read 10 = loaded 10 \+ rejected 0 \+ duplicates 0 \+ nulls 0/);
    const raw = await runCli(['query', 'raw', '--db', d, '--since', '2026-11-01', '--json']);
    expect(raw.code, raw.stderr).toBe(0);
    const rows = JSON.parse(raw.stdout).rows as Array<{ device: string }>;
    expect(rows.filter((r) => r.device === 'live-1')).toHaveLength(10);
    expect(rows.filter((r) => r.device === 'file-1')).toHaveLength(500);
  });

  it('a holder killed while a client ingests: the client retries, opens the directory itself and loads everything once', async () => {
    const d = dir();
    expect((await runCli(['init', '--db', d, '-q'])).code).toBe(0);
    const holder = start(['ingest', '--db', d, '-', '--input-format', 'ndjson']);
    children.push(holder.child);
    await until('the holder to serve the directory', () => !!lockOf(d)?.socket);
    // The client is a live stdin ingest too, fed in two halves: the first through the holder, the second
    // after the holder is gone.
    const client = start([
      'ingest',
      '--db',
      d,
      '-',
      '--input-format',
      'ndjson',
      '--json',
      '--flush-interval',
      '1s',
    ]);
    children.push(client.child);
    const n = 20_000;
    const half = (from: number, to: number) =>
      Array.from(
        { length: to - from },
        (_, k) =>
          JSON.stringify({
            time: new Date(Date.UTC(2026, 10, 1) + (from + k) * 1000).toISOString(),
            device_id: 'big-1',
            metric: 'temperature',
            value: from + k,
          }) + '\n',
      ).join('');
    client.child.stdin.write(half(0, n / 2));
    const latest = async () => {
      const r = await runCli(['query', 'latest', '--db', d, '--device', 'big-1', '--json']);
      return r.code === 0 ? ((JSON.parse(r.stdout).rows as unknown[]).length ?? 0) : 0;
    };
    const deadline = Date.now() + 60_000;
    while ((await latest()) === 0) {
      if (Date.now() > deadline) throw new Error('the client committed nothing through the holder');
    }
    expect(lockOf(d)?.pid).toBe(holder.child.pid);
    holder.child.kill('SIGKILL');
    await exited(holder.child);
    client.child.stdin.end(half(n / 2, n));
    expect(await exited(client.child), client.err()).toBe(0);
    expect(JSON.parse(client.out())).toMatchObject({ read: n, loaded: n, duplicates: 0 });
    const raw = await runCli([
      'query',
      'raw',
      '--db',
      d,
      '--device',
      'big-1',
      '--since',
      '2026-11-01',
      '--json',
    ]);
    expect(raw.code, raw.stderr).toBe(0);
    const times = (JSON.parse(raw.stdout).rows as Array<{ time: string }>).map((r) => r.time);
    expect(new Set(times).size).toBe(n);
  });

  it.skipIf(!psql)(
    'psql against iotctl serve: a query, \\d, a TimescaleDB function, \\copy; SIGTERM stops it',
    async () => {
      const d = dir();
      expect((await runCli(['init', '--db', d, '-q'])).code).toBe(0);
      const serve = start(['serve', '--db', d, '--listen', '127.0.0.1:0', '--json', '--no-maintain']);
      children.push(serve.child);
      await until('serve to print its address', () => serve.out().includes('}'));
      const { url, socket } = JSON.parse(serve.out()) as { url: string; socket: string };
      expect(url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres\?sslmode=disable$/);
      expect(socket).toBe(d);
      const run = (args: string[], input?: string) =>
        spawnSync(psql as string, [url, '-X', '-v', 'ON_ERROR_STOP=1', ...args], { encoding: 'utf8', input });
      const copy = run(
        ['-c', '\\copy iotctl.readings (time, device_id, metric, value) from stdin with (format csv)'],
        '2026-11-20T00:00:00Z,psql-1,temperature,1.5\n',
      );
      // readings is a view: the copy is refused by the database, and psql says so (no crash of the holder).
      expect(copy.status).not.toBe(0);
      const q = run(['-At', '-c', 'SELECT count(*) FROM iotctl.readings']);
      expect(q.stderr).toBe('');
      expect(q.stdout.trim()).toBe('0');
      const d1 = run(['-c', '\\d iotctl.points']);
      expect(d1.status, d1.stderr).toBe(0);
      expect(d1.stdout).toMatch(/series_id/);
      const tb = run(['-At', '-c', "SELECT time_bucket('1 hour', TIMESTAMPTZ '2026-11-20 10:42+00')"]);
      expect(tb.stdout.trim()).toBe('2026-11-20 10:00:00+00');
      const c2 = run(
        ['-c', 'CREATE TABLE copied (a int, b text)', '-c', '\\copy copied from stdin'],
        '1\tx\n2\ty\n\\.\n',
      );
      expect(c2.status, c2.stderr).toBe(0);
      expect(run(['-At', '-c', "SELECT string_agg(b, ',' ORDER BY a) FROM copied"]).stdout.trim()).toBe(
        'x,y',
      );
      // The socket in the data directory serves psql -h DIR as well.
      const viaSocket = spawnSync(psql as string, ['-h', d, '-X', '-At', '-c', 'SELECT 1'], {
        encoding: 'utf8',
      });
      expect(viaSocket.stdout.trim()).toBe('1');
      await until('the connection log', () =>
        /connection \d+ from 127\.0\.0\.1:\d+ \("psql"/.test(serve.err()),
      );
      serve.child.kill('SIGTERM');
      expect(await exited(serve.child), serve.err()).toBe(0);
      expect(fs.existsSync(path.join(d, '.s.PGSQL.5432'))).toBe(false);
      expect(lockOf(d)).toBeNull();
      // The next command opens the directory itself.
      expect((await runCli(['status', '--db', d])).code).toBe(0);
    },
  );

  it('serve runs the due maintenance jobs on its schedule (the embedded database has no background workers)', async () => {
    const d = dir();
    expect((await runCli(['init', '--db', d, '-q'])).code).toBe(0);
    const serve = start(['serve', '--db', d, '--listen', '127.0.0.1:0', '--maintain-every', '1h']);
    children.push(serve.child);
    await until('the first maintain run', () => /maintain: ran \d+ jobs/.test(serve.err()));
    expect(serve.out()).toMatch(/maintain runs every 1h/);
    serve.child.kill('SIGINT');
    expect(await exited(serve.child), serve.err()).toBe(0);
    const jobs = await runCli(['jobs', '--db', d, '--json']);
    expect(jobs.code, jobs.stderr).toBe(0);
    const listed = JSON.parse(jobs.stdout) as Array<{ name: string; lastStatus: string | null }>;
    expect(listed.filter((j) => j.name.startsWith('refresh:')).map((j) => j.lastStatus)).toEqual([
      'success',
      'success',
      'success',
    ]);
  });

  it('serve refuses a server target and a second serve on the same directory', async () => {
    const d = dir();
    const server = await runCli(['serve', '--db', 'postgres://nobody@127.0.0.1:1/x']);
    expect(server.code).toBe(2);
    expect(server.stderr).toMatch(/embedded database/);
    const first = start(['serve', '--db', d, '--listen', '127.0.0.1:0', '--no-maintain']);
    children.push(first.child);
    await until('serve to listen', () => first.out().includes('psql'));
    const second = await runCli(['serve', '--db', d, '--listen', '127.0.0.1:0']);
    expect(second.code).toBe(6);
    expect(second.stderr).toMatch(/in use by pid \d+/);
    const bad = await runCli(['serve', '--db', d, '--listen', 'nowhere']);
    expect(bad.code).toBe(2);
  });
});
