// The first refresh of years of history ran as one statement (966 MB peak RSS and 487 MB of pg_wal on the
// embedded database for the four sample data sets): it is now cut into bounded pieces, oldest first.
import { describe, expect, it } from 'vitest';
import { BUCKET_ORIGIN_MS } from '../../src/util/buckets.js';
import {
  REFRESH_WINDOW_MS,
  refreshWindowSpan,
  refreshWindows,
  type MsRange,
} from '../../src/engine/windows.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Daily chunks over `days` days from `start`. */
const dailyChunks = (start: number, days: number): MsRange[] =>
  Array.from({ length: days }, (_, i): MsRange => [start + i * DAY, start + (i + 1) * DAY]);

describe('refresh windows', () => {
  const history = dailyChunks(Date.UTC(2004, 2, 10), 400).concat(dailyChunks(Date.UTC(2013, 2, 1), 1461));
  const now = Date.UTC(2026, 0, 1);

  it('regression: the catch-up of 13 years of history was one refresh; it is pieces of at most a month, oldest first, edge to edge', () => {
    for (const bucket of [MINUTE, HOUR, DAY]) {
      const windows = refreshWindows({
        bucketMs: bucket,
        fromMs: -Infinity,
        untilMs: now - bucket,
        source: history,
        work: [[-Infinity, Infinity]],
      });
      expect(windows.length).toBeGreaterThan(1);
      const span = refreshWindowSpan(bucket);
      let covered = 0;
      for (const [i, w] of windows.entries()) {
        const len = w.until.getTime() - w.from.getTime();
        expect(len).toBeLessThanOrEqual(span);
        expect(len).toBeLessThanOrEqual(REFRESH_WINDOW_MS + bucket);
        // Whole buckets: no bucket is split between two pieces.
        expect((w.from.getTime() - BUCKET_ORIGIN_MS) % bucket).toBe(0);
        expect((w.until.getTime() - BUCKET_ORIGIN_MS) % bucket).toBe(0);
        if (i > 0) expect(w.from.getTime()).toBeGreaterThanOrEqual(windows[i - 1]!.until.getTime());
        covered += len;
      }
      // Every day of the source is in some piece, and the gap between the two periods in none.
      for (const [lo, hi] of history)
        expect(windows.some((w) => w.from.getTime() <= lo && w.until.getTime() >= hi)).toBe(true);
      expect(covered).toBeLessThan(history.length * DAY + 4 * span);
      const gap = Date.UTC(2009, 0, 1);
      expect(windows.some((w) => w.from.getTime() <= gap && w.until.getTime() > gap)).toBe(false);
    }
  });

  it('pieces are months of buckets, not a few: 13 years of minute buckets take tens of statements', () => {
    const windows = refreshWindows({
      bucketMs: MINUTE,
      fromMs: -Infinity,
      untilMs: now,
      source: history,
      work: [[-Infinity, Infinity]],
    });
    expect(windows.length).toBeGreaterThan(60);
    expect(windows.length).toBeLessThan(80);
  });

  it('only where there is work: above the watermark and over pending invalidations', () => {
    const wm = Date.UTC(2016, 0, 1);
    const backfill: MsRange = [Date.UTC(2004, 5, 1), Date.UTC(2004, 5, 2)];
    const windows = refreshWindows({
      bucketMs: HOUR,
      fromMs: -Infinity,
      untilMs: now,
      source: history,
      work: [[wm, Infinity], backfill],
    });
    expect(windows[0]!.from.getTime()).toBeLessThanOrEqual(backfill[0]);
    expect(windows[0]!.until.getTime()).toBeGreaterThanOrEqual(backfill[1]);
    const rest = windows.slice(1);
    expect(rest.length).toBeGreaterThan(0);
    for (const w of rest) expect(w.until.getTime()).toBeGreaterThan(wm);
  });

  it('starts at the refresh start (retention clamp, --since) and leaves the newest window to the final refresh', () => {
    const fromMs = Date.UTC(2015, 6, 1, 7, 30);
    const untilMs = Date.UTC(2016, 6, 1);
    const windows = refreshWindows({
      bucketMs: HOUR,
      fromMs,
      untilMs,
      source: history,
      work: [[-Infinity, Infinity]],
    });
    expect(windows[0]!.from.getTime()).toBe(fromMs);
    for (const w of windows) expect(w.until.getTime()).toBeLessThanOrEqual(untilMs);
    expect(untilMs - windows.at(-1)!.until.getTime()).toBeLessThan(refreshWindowSpan(HOUR));
    expect(refreshWindows({ bucketMs: HOUR, fromMs, untilMs, source: history, work: [] })).toEqual([]);
    expect(
      refreshWindows({ bucketMs: HOUR, fromMs, untilMs, source: [], work: [[-Infinity, Infinity]] }),
    ).toEqual([]);
  });

  it('a bucket longer than the window is one bucket a piece', () => {
    expect(refreshWindowSpan(90 * DAY)).toBe(90 * DAY);
    expect(refreshWindowSpan(7 * DAY)).toBe(35 * DAY);
  });
});
