import { describe, expect, it } from 'vitest';
import { resolveTarget } from '../../src/db/target.js';
import { isTransientError, mapDbError } from '../../src/db/errors.js';

const target = resolveTarget({ db: 'postgres://bob:pw-9@db/iot', env: {} });

describe('database error mapping', () => {
  it('maps driver errors without a SQLSTATE to the connection exit code', () => {
    const sasl = mapDbError(
      new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string'),
      target,
    );
    expect(sasl).toMatchObject({ code: 'AUTH', exitCode: 3 });
    expect(sasl.message).toMatch(/none was given/);
    const reset = mapDbError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), target);
    expect(reset).toMatchObject({ code: 'CONNECTION', exitCode: 3 });
    expect(mapDbError(new Error('timeout exceeded when trying to connect'), target)).toMatchObject({
      exitCode: 3,
    });
  });

  it('maps SQLSTATEs and never shows the password', () => {
    const e = mapDbError(
      Object.assign(new Error('password authentication failed for user "bob" (pw-9)'), { code: '28P01' }),
      target,
    );
    expect(e).toMatchObject({ code: 'AUTH', exitCode: 3 });
    const denied = mapDbError(
      Object.assign(new Error('permission denied for schema iotctl pw-9'), { code: '42501' }),
      target,
    );
    expect(denied).toMatchObject({ code: 'PERMISSION', exitCode: 8 });
    expect(denied.message).not.toContain('pw-9');
  });

  it('sslmode=require against a server without SSL, or an untrusted certificate, is a connection error (exit 3, not 8)', () => {
    const noSsl = mapDbError(new Error('The server does not support SSL connections'), target);
    expect(noSsl).toMatchObject({ code: 'CONNECTION', exitCode: 3 });
    expect(noSsl.message).toBe(
      'cannot connect to postgres://bob:***@db/iot: the server does not accept SSL connections',
    );
    const selfSigned = mapDbError(
      Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
      target,
    );
    expect(selfSigned).toMatchObject({ code: 'CONNECTION', exitCode: 3 });
    expect(selfSigned.hint).toMatch(/sslrootcert/);
  });

  it('a full disk (SQLSTATE 53100) is DISK_FULL, exit 8, with what to do, on either target', () => {
    const server = mapDbError(
      Object.assign(new Error('could not extend file "base/5/16384": No space left on device'), {
        code: '53100',
      }),
      target,
    );
    expect(server).toMatchObject({ code: 'DISK_FULL', exitCode: 8 });
    expect(server.message).toMatch(/^the database server's disk is full \(postgres:\/\/bob:\*\*\*@db\/iot\)/);
    const embedded = mapDbError(
      Object.assign(new Error('could not write to file "pg_wal/xlogtemp.42": No space left on device'), {
        code: '53100',
      }),
      resolveTarget({ db: '/var/lib/iot', env: {} }),
    );
    expect(embedded.message).toMatch(/^the disk holding \/var\/lib\/iot is full: could not write/);
    expect(embedded.hint).toMatch(/what was committed is kept/);
  });

  it('knows which errors a retry can fix', () => {
    for (const code of ['57P01', '53300', '40001', '08006', 'ECONNRESET']) {
      expect(isTransientError(Object.assign(new Error('x'), { code }))).toBe(true);
    }
    expect(isTransientError(Object.assign(new Error('x'), { code: '23505' }))).toBe(false);
  });
});
