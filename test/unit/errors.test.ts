import { describe, expect, it } from 'vitest';
import { resolveTarget } from '../../src/db/target.js';
import {
  isRepeatableRead,
  isTransientError,
  isWorkerTransientError,
  mapDbError,
} from '../../src/db/errors.js';
import { isRetryable } from '../../src/ingest/loader.js';

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

  // Shapes seen on Citus 13.2 (a worker backend terminated mid-statement, a cached worker connection lost
  // inside a transaction) and the XX000 forms Citus raises without the worker's SQLSTATE.
  const pgError = (code: string, message: string, where?: string) =>
    Object.assign(new Error(message), { code, ...(where ? { where } : {}) });

  it('tells a Citus worker failure a repeat can get past from the same codes on one server', () => {
    const worker = [
      pgError(
        '57P01',
        'terminating connection due to administrator command',
        'while executing command on 127.0.0.1:5441',
      ),
      pgError(
        '08006',
        'connection to the remote node postgres@127.0.0.1:5441 failed with the following error: connection not open',
      ),
      pgError('XX000', 'failure on connection marked as essential: 127.0.0.1:5442'),
      pgError('XX000', 'connection to the remote node 127.0.0.1:5441 failed'),
      pgError('XX000', 'deadlock detected'),
      pgError('XX000', 'could not serialize access due to concurrent update'),
    ];
    for (const e of worker) expect(isWorkerTransientError(e), e.message).toBe(true);
    const notWorker = [
      pgError('57P01', 'terminating connection due to administrator command'),
      pgError('08006', 'Connection terminated unexpectedly'),
      pgError('XX000', 'duplicate key value violates unique constraint "points_series_time_uq_102008"'),
      pgError('0A000', 'complex joins are only supported when all distributed tables are co-located'),
      pgError('23505', 'duplicate key value violates unique constraint'),
    ];
    for (const e of notWorker) expect(isWorkerTransientError(e), e.message).toBe(false);
    // Ingest retries a batch on the XX000 forms too (it already did on 57P01 and class 08).
    expect(isRetryable(worker[2])).toBe(true);
    expect(isRetryable(mapDbError(worker[4], resolveTarget({ db: 'postgres://h/db', env: {} })))).toBe(true);
    expect(isRetryable(notWorker[2])).toBe(false);
  });

  it('a lost connection to a Citus worker names the worker, not the coordinator', () => {
    const coordinator = resolveTarget({ db: 'postgres://postgres@10.0.0.1:5440/iot', env: {} });
    const lost = mapDbError(
      pgError(
        '08006',
        'connection to the remote node postgres@127.0.0.1:5441 failed with the following error: connection not open',
      ),
      coordinator,
    );
    expect(lost.code).toBe('CONNECTION');
    expect(lost.message).toBe(
      'lost connection to the Citus worker 127.0.0.1:5441 (through postgres://postgres@10.0.0.1:5440/iot): ' +
        'connection to the remote node postgres@127.0.0.1:5441 failed with the following error: connection not open',
    );
    // The worker's backend terminated while the coordinator's transaction held its connection.
    const terminated = mapDbError(
      pgError(
        '57P01',
        'terminating connection due to administrator command',
        'while executing command on 127.0.0.1:5442',
      ),
      coordinator,
    );
    expect(terminated).toMatchObject({ code: 'CONNECTION', exitCode: 3 });
    expect(terminated.message).toBe(
      'lost connection to the Citus worker 127.0.0.1:5442 (through postgres://postgres@10.0.0.1:5440/iot): ' +
        'terminating connection due to administrator command',
    );
    // The coordinator's own connection lost: the coordinator is named.
    expect(mapDbError(pgError('08006', 'Connection terminated unexpectedly'), coordinator).message).toBe(
      'lost connection to postgres://postgres@10.0.0.1:5440/iot: Connection terminated unexpectedly',
    );
  });

  it('repeats only statements that read', () => {
    for (const text of [
      'SELECT count(*) FROM iotctl.points',
      'WITH sel AS (SELECT id FROM iotctl.series) SELECT * FROM sel',
      "SELECT value->>'until' AS until, updated_at FROM iotctl.meta WHERE key = $1",
      "SELECT c.relname, coalesce(am.amname = 'columnar', false) AS compressed FROM pg_class c",
    ])
      expect(isRepeatableRead(text), text).toBe(true);
    for (const text of [
      'INSERT INTO iotctl.meta (key, value) VALUES ($1, $2)',
      'WITH d AS (DELETE FROM iotctl.points RETURNING 1) SELECT count(*) FROM d',
      'WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x',
      "SELECT alter_table_set_access_method($1::regclass, 'columnar')",
      "SELECT create_distributed_table($1, 'series_id')",
      'SELECT pg_try_advisory_lock($1::bigint) AS ok',
      'SELECT compress_chunk(c) FROM show_chunks($1) c',
      "SELECT nextval('s')",
      'SELECT * FROM iotctl.meta FOR UPDATE',
      'SELECT * FROM run_command_on_all_nodes($q$SELECT 1$q$)',
      'ANALYZE iotctl.points',
    ])
      expect(isRepeatableRead(text), text).toBe(false);
  });
});
