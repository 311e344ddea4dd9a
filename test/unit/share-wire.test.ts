// The pieces of the sharing server and `iotctl serve` that need no database: addresses, COPY detection,
// message framing.
import { describe, expect, it } from 'vitest';
import { connectionUrl, parseListen } from '../../src/commands/serve.js';
import {
  copyFromStdin,
  lastReadyStatus,
  message,
  query,
  readyForQuery,
  splitMessages,
} from '../../src/db/share/wire.js';

describe('serve --listen', () => {
  it('reads HOST:PORT, [v6]:PORT, :PORT and PORT; says which are loopback', () => {
    expect(parseListen('127.0.0.1:5432')).toEqual({ host: '127.0.0.1', port: 5432, loopback: true });
    expect(parseListen('[::1]:6543')).toEqual({ host: '::1', port: 6543, loopback: true });
    expect(parseListen(':0')).toEqual({ host: '127.0.0.1', port: 0, loopback: true });
    expect(parseListen('7000')).toEqual({ host: '127.0.0.1', port: 7000, loopback: true });
    expect(parseListen('localhost:1')).toEqual({ host: '127.0.0.1', port: 1, loopback: true });
    expect(parseListen('0.0.0.0:5432')).toMatchObject({ loopback: false });
    expect(parseListen('192.168.1.5:5432')).toMatchObject({ loopback: false });
  });

  it('refuses what is not an address (exit 2)', () => {
    for (const bad of ['nowhere', 'host:5432', '127.0.0.1:99999', '127.0.0.1:', '::1:5432']) {
      expect(() => parseListen(bad), bad).toThrow(expect.objectContaining({ exitCode: 2 }));
    }
  });

  it('prints a connection string psql takes', () => {
    expect(connectionUrl({ host: '127.0.0.1', port: 5432 })).toBe(
      'postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable',
    );
    expect(connectionUrl({ host: '::1', port: 5432 })).toBe(
      'postgres://postgres@[::1]:5432/postgres?sslmode=disable',
    );
    expect(connectionUrl({ socketDir: '/run/iotctl' })).toBe(
      'postgres://postgres@/postgres?host=%2Frun%2Fiotctl',
    );
  });
});

describe('COPY FROM STDIN, run by the holder from a blob', () => {
  it('rewrites one COPY ... FROM STDIN statement, options kept', () => {
    expect(copyFromStdin('COPY iotctl.points (time, series_id, value) FROM STDIN (FORMAT binary)')).toEqual({
      sql: "COPY iotctl.points (time, series_id, value) FROM '/dev/blob' (FORMAT binary)",
      binary: true,
    });
    expect(copyFromStdin("copy t from stdin with (format csv, delimiter ';');")).toEqual({
      sql: "copy t FROM '/dev/blob' with (format csv, delimiter ';')",
      binary: false,
    });
  });

  it('leaves everything else to the engine', () => {
    for (const text of [
      'SELECT 1',
      'COPY t TO STDOUT',
      "COPY t FROM '/tmp/file'",
      'COPY t FROM STDIN; SELECT 1',
      "SELECT 'COPY t FROM STDIN'",
    ]) {
      expect(copyFromStdin(text), text).toBeNull();
    }
  });
});

describe('message framing', () => {
  it('splits complete messages and keeps a partial one for later', () => {
    const a = query('SELECT 1');
    const b = message('S');
    const c = query('SELECT 2');
    const all = Buffer.concat([a, b, c]);
    const { messages, rest } = splitMessages(all.subarray(0, all.length - 3));
    expect(messages.map((m) => m.toString('latin1'))).toEqual([a.toString('latin1'), b.toString('latin1')]);
    expect(rest.length).toBe(c.length - 3);
    expect(() => splitMessages(Buffer.from([0x51, 0, 0, 0, 1]))).toThrow(/invalid message length/);
  });

  it("finds the engine's last transaction status", () => {
    const out = Buffer.concat([message('C', Buffer.from('BEGIN\0')), readyForQuery('T'), readyForQuery('E')]);
    expect(lastReadyStatus(out)).toBe('E');
    expect(lastReadyStatus(message('1'))).toBeNull();
  });
});
