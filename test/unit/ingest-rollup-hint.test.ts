// After loading history, ingest says the rollups take the readings in at their next refresh and what to run.
import { describe, expect, it } from 'vitest';
import { rollupLagHint } from '../../src/ingest/run.js';
import { parseDuration } from '../../src/util/duration.js';

const rollups = ['1m', '1h', '1d'].map((t) => ({ name: `rollup_${t}`, bucket: parseDuration(t) }));
const now = Date.parse('2026-12-01T12:00:00Z');

describe('rollupLagHint', () => {
  it('names the oldest day, the coarsest rollup and `iotctl rollup refresh` for readings older than its schedule', () => {
    expect(rollupLagHint({ rollups }, Date.parse('2004-03-10T18:00:00Z'), now)).toBe(
      'loaded readings back to 2004-03-10: the rollups take them in when each is next refreshed (rollup_1d within 1 day); `iotctl rollup refresh` brings them all up to date now',
    );
  });

  it('says nothing for recent readings or a store without rollups', () => {
    expect(rollupLagHint({ rollups }, now - 3_600_000, now)).toBeNull();
    expect(rollupLagHint({ rollups: [] }, Date.parse('2004-03-10T18:00:00Z'), now)).toBeNull();
  });
});
