import { describe, expect, it } from 'vitest';
import { adviceFor, cadenceOf } from '../../src/maintenance/advise.js';
import { chunkIntervalFor } from '../../src/maintenance/cadence.js';
import { parseDuration } from '../../src/util/duration.js';

const H = 3_600_000;
const rollups = ['1m', '1h', '1d'].map((t) => ({ name: `rollup_${t}`, bucket: parseDuration(t) }));

/** A series of `n` readings every `stepSeconds` ending at 2024-01-01. */
function series(device: string, stepSeconds: number, n: number, chunkMs = 24 * H) {
  const last = Date.UTC(2024, 0, 1);
  return cadenceOf(
    {
      id: 1,
      device,
      metric: 'm',
      first: new Date(last - (n - 1) * stepSeconds * 1000),
      last: new Date(last),
      step_seconds: stepSeconds,
    },
    chunkMs,
  );
}

const facts = (starts: number[]) => ({
  chunkStarts: starts,
  rawBytes: 1000,
  rollupBytes: new Map([['rollup_1m', 5000]]),
  compresses: true,
});

describe('chunkIntervalFor', () => {
  it('gives about 1,000 readings per series, in whole days (weeks from 2w), within 1d..26w', () => {
    expect(chunkIntervalFor(H).text).toBe('5w');
    expect(chunkIntervalFor(15 * 60_000).text).toBe('10d');
    expect(chunkIntervalFor(60_000).text).toBe('1d');
    expect(chunkIntervalFor(1000).text).toBe('1d');
    expect(chunkIntervalFor(24 * H).text).toBe('26w');
  });
});

describe('adviceFor', () => {
  it('hourly series in daily chunks: longer chunks, and the 1m and 1h rollups hold one row per reading', () => {
    const s = [series('a', 3600, 5000), series('b', 3600, 5000)];
    const starts = Array.from({ length: 209 }, (_, i) => Date.UTC(2023, 5, 6) + i * 24 * H);
    const advice = adviceFor({ chunkInterval: parseDuration('1d'), rollups }, s, facts(starts));
    expect(advice.map((a) => a.target)).toEqual(['chunk interval', 'rollup_1m', 'rollup_1h']);
    expect(advice[0]!.change).toMatch(/^--chunk-interval 5w \(~840 readings/);
    expect(advice[0]!.effect).toMatch(/chunks 209 -> ~[67] /);
    expect(advice[1]!.problem).toMatch(/2 of 2 series .* 100% of its ~10,000 rows .* 4\.9 kB \(5\.0x/);
  });

  it('minute series in daily chunks: nothing to change but the 1m rollup', () => {
    const s = [series('a', 60, 100_000), series('b', 60, 100_000)];
    const advice = adviceFor({ chunkInterval: parseDuration('1d'), rollups }, s, facts([0]));
    expect(advice.map((a) => a.target)).toEqual(['rollup_1m']);
  });

  it('a minority of hourly readings beside minute ones does not condemn the 1h rollup', () => {
    const s = [series('a', 60, 1_000_000), series('b', 3600, 1000)];
    const advice = adviceFor({ chunkInterval: parseDuration('1d'), rollups }, s, facts([0]));
    expect(advice.map((a) => a.target)).toEqual(['rollup_1m']);
  });

  it('chunks too large for memory: shorter ones', () => {
    const s = Array.from({ length: 200 }, (_, i) => series(`d${i}`, 1, 1_000_000));
    const advice = adviceFor({ chunkInterval: parseDuration('1d'), rollups: [] }, s, facts([0]));
    expect(advice.map((a) => a.target)).toEqual(['chunk interval']);
    expect(advice[0]!.change).toMatch(/--chunk-interval 14h\b/); // 1 GiB of the 1.7 GB a day of 200 series at 1s
  });
});
