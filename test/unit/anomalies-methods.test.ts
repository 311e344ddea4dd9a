// The anomaly method registry: every method is complete (help, flags with defaults, validation, SQL),
// and the statement each one builds, as exact text.
import { describe, expect, it } from 'vitest';
import { validateAnomalies, withDefaults, type AnomaliesOptions } from '../../src/anomalies/detect.js';
import type { AnomalyParams, Emit } from '../../src/anomalies/method.js';
import { allFlags, anomalyMethod, anomalyMethods, methodNames } from '../../src/anomalies/methods/index.js';
import { parseDuration } from '../../src/util/duration.js';

const options = (over: Partial<AnomaliesOptions>): AnomaliesOptions => ({
  method: 'zscore',
  filter: { metric: 'temp' },
  range: { since: new Date(0), until: new Date(1) },
  ...over,
});

/**
 * Per method: options it accepts, options it rejects (with the message), and its scoring SQL for the
 * `over` parameters. A method missing here fails the walk below.
 */
const fixtures: Record<
  string,
  { accepts: Partial<AnomalyParams>; rejects: Array<[Partial<AnomalyParams>, RegExp]> }
> = {
  robust: {
    accepts: { window: 20 },
    rejects: [
      [{ window: 19 }, /--window must be a whole number >= 20/],
      [{ threshold: -6 }, /--threshold must be above 0/],
    ],
  },
  zscore: { accepts: {}, rejects: [[{ threshold: 0 }, /--threshold must be above 0/]] },
  mad: { accepts: { threshold: 5 }, rejects: [[{ threshold: -1 }, /--threshold must be above 0/]] },
  iqr: { accepts: { k: 0 }, rejects: [[{ k: -0.5 }, /--k must be 0 or more/]] },
  roc: {
    accepts: { maxStep: 0 },
    rejects: [
      [{}, /--method roc needs --max-step/],
      [{ maxStep: -1 }, /--method roc needs --max-step/],
    ],
  },
  range: {
    accepts: { min: 0 },
    rejects: [
      [{}, /--method range needs --min and\/or --max/],
      [{ min: 5, max: 1 }, /--min is above --max/],
    ],
  },
};

/**
 * Per method: its parameters and a synthetic series (a reading a minute: a clean cycle of 120 minutes,
 * amplitude 2, with a +15 spike at minute 400) on which it must flag the spike and nothing else that is
 * clean. A method missing here fails the walk below.
 */
const scoring: Record<string, { over: Partial<AnomalyParams>; flags: (minute: number) => boolean }> = {
  robust: { over: {}, flags: (i) => i === 400 },
  zscore: { over: { baseline: parseDuration('6h') }, flags: (i) => i === 400 },
  mad: { over: {}, flags: (i) => i === 400 },
  iqr: { over: {}, flags: (i) => i === 400 },
  // Into the spike and back out of it.
  roc: { over: { maxStep: 5 }, flags: (i) => i === 400 || i === 401 },
  range: { over: { min: 15, max: 25 }, flags: (i) => i === 400 },
};

const cycle = (i: number) => 20 + 2 * Math.sin((2 * Math.PI * i) / 120) + 0.05 * Math.sin(i * 1.7);

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

describe('the anomaly method registry', () => {
  it('lists each method once, with a default that is one of them', () => {
    expect(new Set(methodNames).size).toBe(anomalyMethods.length);
    expect(methodNames).toContain('zscore');
    expect(() => anomalyMethod('nope')).toThrow(/unknown --method 'nope'/);
  });

  describe.each(anomalyMethods.map((m) => [m.name, m] as const))('%s', (name, m) => {
    it('has a summary, and flags with help, a spelling matching their key, and defaults of their kind', () => {
      expect(name).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(m.summary.length).toBeGreaterThan(10);
      for (const f of m.flags) {
        expect(f.help.length).toBeGreaterThan(5);
        expect(f.flags).toMatch(new RegExp(`^--${kebab(f.key)} <[a-z]+>$`));
        expect(['number', 'int', 'duration']).toContain(f.kind);
        if (f.default !== undefined) {
          if (f.kind === 'duration') expect(parseDuration(String(f.default)).ms).toBeGreaterThan(0);
          else expect(typeof f.default).toBe('number');
          if (typeof f.default === 'number') expect(f.check?.(f.default)).toBeUndefined();
        }
      }
    });

    it('accepts its fixture and rejects what it should, with a usage error', () => {
      const fx = fixtures[name];
      expect(fx, `test fixture for ${name}`).toBeDefined();
      expect(() => validateAnomalies(options({ method: name, ...fx!.accepts }))).not.toThrow();
      if (m.validate) expect(fx!.rejects.length).toBeGreaterThan(0);
      for (const [over, message] of fx!.rejects) {
        const run = () => validateAnomalies(options({ method: name, ...over }));
        expect(run).toThrow(message);
        expect(run).toThrow(expect.objectContaining({ code: 'USAGE', exitCode: 2 }));
      }
    });

    it('fills its defaults', () => {
      const filled = withDefaults(m, options({ method: name }));
      for (const f of m.flags.filter((x) => x.default !== undefined && x.kind !== 'duration'))
        expect(filled[f.key]).toBe(f.default);
    });

    it('scores its synthetic fixture: the spike, and nothing on the clean cycle around it', () => {
      const fx = scoring[name];
      expect(fx, `scoring fixture for ${name}`).toBeDefined();
      const params = withDefaults(m, options({ method: name, ...fx!.over }));
      const scorer = m.scorer(params);
      const flagged: number[] = [];
      const emit: Emit = (time, _value, verdict, inRange) => {
        if (verdict.flagged && inRange) flagged.push(time / 60_000);
      };
      // 360 minutes of history before the range, when the method reads any.
      for (let i = 0; i < 480; i++) scorer.push(i * 60_000, cycle(i) + (i === 400 ? 15 : 0), i >= 360, emit);
      scorer.finish?.(emit);
      expect(flagged).toEqual(Array.from({ length: 120 }, (_, k) => 360 + k).filter(fx!.flags));
    });
  });

  it('a flag several methods take is spelled, parsed, explained and checked the same by each', () => {
    for (const { flag, methods } of allFlags()) {
      for (const { name } of methods) {
        const own = anomalyMethod(name).flags.find((f) => f.key === flag.key)!;
        expect([own.flags, own.kind, own.help, own.check, own.exclusive]).toEqual([
          flag.flags,
          flag.kind,
          flag.help,
          flag.check,
          flag.exclusive,
        ]);
      }
    }
    expect(new Set(allFlags().map((f) => f.flag.flags.split(' ')[0])).size).toBe(allFlags().length);
  });
});
