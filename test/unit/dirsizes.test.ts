// Which statements end the reuse of a data-directory walk (and the embedded WAL check): those that may write.
import { describe, expect, it } from 'vitest';
import { isPlainRead } from '../../src/db/dirsizes.js';

describe('isPlainRead', () => {
  it('takes SELECT, SHOW, EXPLAIN and a WITH that modifies nothing as reads', () => {
    expect(isPlainRead('SELECT 1')).toBe(true);
    expect(isPlainRead('  show data_checksums')).toBe(true);
    // Regression: the chunk and job listings begin with WITH and ended the walk status had just made.
    expect(isPlainRead('WITH rel AS (SELECT 1) SELECT * FROM rel')).toBe(true);
  });

  it('takes anything that may write as a write', () => {
    expect(isPlainRead('INSERT INTO t VALUES (1)')).toBe(false);
    expect(isPlainRead('WITH d AS (DELETE FROM t RETURNING *) SELECT count(*) FROM d')).toBe(false);
    expect(isPlainRead('WITH s AS (SELECT 1) INSERT INTO t SELECT * FROM s')).toBe(false);
    expect(isPlainRead("SELECT compress_chunk('_timescaledb_internal._hyper_1_1_chunk')")).toBe(false);
    expect(isPlainRead('CALL refresh_continuous_aggregate($1, NULL, NULL)')).toBe(false);
    expect(isPlainRead('ANALYZE iotctl.points')).toBe(false);
  });
});
