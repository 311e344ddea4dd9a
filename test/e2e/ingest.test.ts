// `iotctl ingest` as users run it: exit codes, summary on stdout, reject summary on stderr, no progress
// output when stderr is not a terminal.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';
import { makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';

const FIX = path.resolve(import.meta.dirname, '../../fixtures/ingest');

describe.each(targetKinds)('iotctl ingest (%s)', (kind) => {
  let target: TestTarget;
  let tmp: string;
  const cli = (args: string[], input?: string) => runCli(['--db', target.spec, ...args], { input });

  beforeAll(async () => {
    target = await makeTarget(kind);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-e2e-ingest-'));
    const r = await cli(['init', '--rollups', 'none']);
    expect(r.code).toBe(0);
  });
  afterAll(async () => {
    await target?.cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('prints the summary table and the accounting line on stdout; nothing on a non-TTY stderr', async () => {
    const r = await cli(['ingest', path.join(FIX, 'long.csv')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/│ loaded\s+│\s+8 │/);
    expect(r.stdout).toMatch(/read 8 = loaded 8 \+ rejected 0 \+ duplicates 0 \+ nulls 0\n$/);
    const again = await cli(['ingest', path.join(FIX, 'long.csv')]);
    expect(again.stdout).toMatch(
      /read 8 = loaded 0 \+ rejected 0 \+ duplicates 8 \+ nulls 0 \(0 new readings\)/,
    );
  });

  it('exit 4 with rejected rows: JSON summary on stdout, reasons on stderr, rows in the rejects file', async () => {
    const rejects = path.join(tmp, 'rejects.ndjson');
    const r = await cli(['ingest', '--json', path.join(FIX, 'malformed.csv'), '--rejects', rejects]);
    expect(r.code).toBe(4);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ read: 15, loaded: 3, rejected: 12 });
    expect(r.stderr).toMatch(
      /warning: 12 readings rejected: bad_time 2, bad_value 1, field_count 2, not_finite 3/,
    );
    expect(r.stderr).toMatch(/error: 12 readings rejected/);
    expect(fs.readFileSync(rejects, 'utf8').trim().split('\n')).toHaveLength(12);
  });

  it('without --rejects names the file and line of the first bad rows on stderr', async () => {
    const r = await cli(['ingest', path.join(FIX, 'malformed.csv'), '--dry-run']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(
      `${path.join(FIX, 'malformed.csv')}:3: bad_time: cannot read time 'yesterday'`,
    );
  });

  it('exit 7 when --max-errors is exceeded', async () => {
    const r = await cli(['ingest', path.join(FIX, 'malformed.csv'), '--max-errors', '1', '--json']);
    expect(r.code).toBe(7);
    expect(JSON.parse(r.stdout)).toMatchObject({ stopped: 'max_errors', rejected: 2 });
    expect(r.stderr).toMatch(/error: stopped: more than 1 rows rejected/);
  });

  it('reads NDJSON from stdin', async () => {
    const input =
      '{"time":"2024-05-01T00:00:00Z","device":"cli-1","metric":"t","value":1}\n{"time":"2024-05-01T00:01:00Z","device":"cli-1","metric":"t","value":2}\n';
    const r = await cli(['ingest', '-', '--input-format', 'ndjson', '--json'], input);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ read: 2, loaded: 2, files: ['-'] });
  });

  it('exit 2 with the file named when the input cannot be mapped', async () => {
    const file = path.join(tmp, 'no-time.csv');
    fs.writeFileSync(file, 'device,metric,value\nd,m,1\n');
    const r = await cli(['ingest', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`error: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: no time column in the header`),
    );
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    const missing = await cli(['ingest', path.join(tmp, 'nope.csv')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read .*nope\.csv: no such file/);
  });

  it('a fatal error in the second file still prints the summary of what was committed', async () => {
    const good = path.join(tmp, 'fatal-good.csv');
    const bad = path.join(tmp, 'fatal-bad.csv');
    fs.writeFileSync(good, 'time,device_id,metric,value\n2024-05-02T00:00:00Z,fatal-1,t,1\n');
    fs.writeFileSync(bad, 'when,what\n1,2\n');
    const r = await cli(['ingest', good, bad, '--json', '--batch-size', '1']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ stopped: 'error', read: 1, loaded: 1 });
    expect(r.stderr).toMatch(/fatal-bad\.csv: no time column in the header/);
  });

  const goodAndBad = (name: string, device: string) => {
    const file = path.join(tmp, name);
    fs.writeFileSync(
      file,
      `time,device_id,metric,value\n2024-06-02T00:00:00Z,${device},t,1\n2024-06-02T00:01:00Z,${device},t,bad\n`,
    );
    return file;
  };
  const stored = async (device: string) => {
    const r = await cli([
      'query',
      'raw',
      '--device',
      device,
      '--since',
      '2024-06-01T00:00:00Z',
      '--until',
      '2024-06-03T00:00:00Z',
      '--json',
    ]);
    // A device with no series at all is a usage error (exit 2) naming it: nothing stored either.
    if (r.code === 2 && r.stderr.startsWith(`error: no series matches --device ${device} `)) return 0;
    return r.code === 0 ? (JSON.parse(r.stdout) as { rows: unknown[] }).rows.length : r.stderr;
  };

  it('a rejects file that cannot be opened: exit 2 naming the path, before any input is read', async () => {
    const file = goodAndBad('rejects-open.csv', 'rj-open');
    for (const [rejects, why] of [
      [path.join(tmp, 'no', 'such', 'dir', 'r.ndjson'), 'no such directory'],
      [tmp, 'it is a directory'],
    ]) {
      const r = await cli(['ingest', file, '--rejects', rejects!, '--json']);
      expect(r.code, rejects).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`error: cannot write the rejects file ${rejects}: ${why}\n`);
    }
    expect(await stored('rj-open')).toBe(0);
  });
  it('a rejects file that fills the disk stops the ingest with a clear error and the summary', async () => {
    const file = goodAndBad('rejects-full.csv', 'rj-full');
    const r = await cli(['ingest', file, '--rejects', '/dev/full', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ stopped: 'error', read: 2, rejected: 1 });
    expect(r.stderr).toMatch(
      /error: cannot write the rejects file \/dev\/full: no space left on the device\n$/,
    );
  });
  it('the rejects file is the input under another name (hard link, symlink, same path, stdin): refused, input intact', async () => {
    const file = goodAndBad('rejects-same.csv', 'rj-same');
    const before = fs.readFileSync(file);
    const hard = path.join(tmp, 'rejects-same-hard.csv');
    fs.linkSync(file, hard);
    for (const rejects of [file, hard]) {
      const r = await cli(['ingest', file, '--rejects', rejects]);
      expect(r.code, rejects).toBe(2);
      expect(r.stderr).toContain(`error: --rejects ${rejects} is the input ${file} (the same file)`);
      expect(r.stderr).not.toContain('no files match');
    }
    // `ingest - --rejects in.csv < in.csv`
    const child = spawn(process.execPath, [BIN, '--db', target.spec, 'ingest', '-', '--rejects', file], {
      stdio: [fs.openSync(file, 'r'), 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain(`error: --rejects ${file} is stdin (the same file)`);
    expect(fs.readFileSync(file)).toEqual(before);
    expect(await stored('rj-same')).toBe(0);
  });
  it('the rejects file is created 0600 and never written through a symbolic link', async () => {
    const file = goodAndBad('rejects-mode.csv', 'rj-mode');
    const rejects = path.join(tmp, 'rejects-mode.ndjson');
    const r = await cli(['ingest', file, '--rejects', rejects]);
    expect(r.code).toBe(4);
    expect(fs.statSync(rejects).mode & 0o777).toBe(0o600);
    expect(await stored('rj-mode')).toBe(1);
    const elsewhere = path.join(tmp, 'rejects-elsewhere.ndjson');
    fs.writeFileSync(elsewhere, 'keep\n');
    const link = path.join(tmp, 'rejects-link.ndjson');
    fs.symlinkSync(elsewhere, link);
    const s = await cli(['ingest', file, '--rejects', link]);
    expect(s.code).toBe(2);
    expect(s.stderr).toBe(
      `error: cannot write the rejects file ${link}: it is a symbolic link (name the file it points to)\n`,
    );
    expect(fs.readFileSync(elsewhere, 'utf8')).toBe('keep\n');
  });
  it('SIGINT: commits what was read, prints the summary, exits 130', async () => {
    const child = spawn(
      process.execPath,
      [BIN, '--db', target.spec, 'ingest', '-', '--json', '--flush-interval', '100ms'],
      {
        env: { ...process.env, DATABASE_URL: '', IOTCTL_DATABASE_URL: '' },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    child.stdin.write(
      'time,device_id,metric,value\n2024-06-01T00:00:00Z,sig-1,t,1\n2024-06-01T00:01:00Z,sig-1,t,2\n',
    );
    await new Promise((r) => setTimeout(r, kind === 'embedded' ? 6000 : 2000));
    child.kill('SIGINT');
    expect(await closed).toBe(130);
    expect(JSON.parse(stdout)).toMatchObject({ stopped: 'interrupted', read: 2, loaded: 2 });
    expect(stderr).toMatch(/error: interrupted: 2 readings committed/);
  });
});
