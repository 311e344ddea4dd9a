// The loader's retry loop without a database: only the timing of retries and interruption is checked.
import { describe, expect, it } from 'vitest';
import { IotctlError } from '../../src/errors.js';
import { isRetryable, withRetry } from '../../src/ingest/loader.js';

describe('ingest retries', () => {
  it('SIGINT during a retry wait ends it at once, not after --retry-timeout', async () => {
    const ac = new AbortController();
    const reset = Object.assign(new Error('terminating connection'), { code: '57P01' });
    let calls = 0;
    const started = Date.now();
    setTimeout(() => ac.abort(), 100);
    const err = await withRetry(
      () => {
        calls++;
        return Promise.reject(reset);
      },
      60_000,
      undefined,
      ac.signal,
    ).catch((e) => e);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err).toMatchObject({ code: 'INTERRUPTED', cause: reset });
    expect(calls).toBeGreaterThanOrEqual(1);
  });

  it('retries transient errors until they pass', async () => {
    let calls = 0;
    const value = await withRetry(async () => {
      if (++calls < 3) throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
      return 'ok';
    }, 10_000);
    expect([value, calls]).toEqual(['ok', 3]);
  });

  it('classifies by error code, not message: a lost connection as the Db layer reports it is retried', () => {
    const pgError = (code: string) => Object.assign(new Error('x'), { code });
    // The Db layer maps a client that lost its connection to CONNECTION, whatever the driver's text.
    const notQueryable = new Error('Client has encountered a connection error and is not queryable');
    expect(isRetryable(new IotctlError('CONNECTION', 'lost connection', { cause: notQueryable }))).toBe(true);
    for (const code of [
      '57P01',
      '57P03',
      '08006',
      '53300',
      '40001',
      '40P01',
      'ECONNRESET',
      'ECONNREFUSED',
      'EPIPE',
    ])
      expect(isRetryable(new IotctlError('DATABASE', 'x', { cause: pgError(code) })), code).toBe(true);
    for (const code of ['23505', '42P01', '22P02', '28P01'])
      expect(isRetryable(new IotctlError('DATABASE', 'x', { cause: pgError(code) })), code).toBe(false);
    // Message text alone decides nothing.
    expect(isRetryable(new Error('Connection terminated unexpectedly'))).toBe(false);
    expect(isRetryable(new IotctlError('DATABASE', 'server closed the connection'))).toBe(false);
  });
});
