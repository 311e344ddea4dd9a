// The loader's retry loop without a database: only the timing of retries and interruption is checked.
import { describe, expect, it } from 'vitest';
import { withRetry } from '../../src/ingest/loader.js';

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
});
