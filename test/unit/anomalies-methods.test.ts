// The anomaly method registry: every method is complete (help, flags with defaults, validation, SQL),
// and the statement each one builds, as exact text.
import { describe, expect, it } from 'vitest';
import { validateAnomalies, withDefaults, type AnomaliesOptions } from '../../src/anomalies/detect.js';
import type { AnomalyParams } from '../../src/anomalies/method.js';
import { allFlags, anomalyMethod, anomalyMethods, methodNames } from '../../src/anomalies/methods/index.js';
import { anomaliesQuery } from '../../src/db/sql/anomalies.js';
import { parseDuration } from '../../src/util/duration.js';

const options = (over: Partial<AnomaliesOptions>): AnomaliesOptions => ({
  method: 'zscore',
  filter: { metric: 'temp' },
  range: { since: new Date(0), until: new Date(1) },
  baseline: parseDuration('24h'),
  k: 1.5,
  minPoints: 10,
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

const scoring: Record<string, { over: Record<string, number>; text: string; values: unknown[] }> = {
  zscore: {
    over: { threshold: 3 },
    text: `  SELECT series_id, time, value, mean AS baseline,
         CASE WHEN n >= $4::int AND sd > 0 THEN (value - mean) / sd END AS score,
         n >= $4::int AND sd > 0 AND abs(value - mean) / sd > $5::float8 AS flagged
    FROM (SELECT series_id, time, value, n, (s / n)::float8 AS mean,
                 CASE WHEN n > 1 THEN sqrt(greatest(0, (ss - s * s / n) / (n - 1)))::float8 END AS sd
            FROM (SELECT series_id, time, value,
                         count(*) OVER w - 1 AS n,
                         sum(value::numeric) OVER w - value::numeric AS s,
                         sum((value * value)::numeric) OVER w - (value * value)::numeric AS ss
                    FROM pts
                  WINDOW w AS (PARTITION BY series_id ORDER BY time
                               RANGE BETWEEN INTERVAL '24 hours' PRECEDING AND CURRENT ROW)) x
           WHERE time >= $2::timestamptz AND n > 0) y`,
    values: [10, 3],
  },
  mad: {
    over: { threshold: 3.5 },
    text: `  WITH st AS (SELECT series_id, count(*) AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS med
                FROM pts GROUP BY series_id),
       d AS (SELECT pts.series_id, 1.4826 * percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(pts.value - st.med)) AS mad
               FROM pts JOIN st USING (series_id) GROUP BY pts.series_id)
  SELECT pts.series_id, pts.time, pts.value, st.med AS baseline,
         CASE WHEN st.n >= $4::int AND d.mad > 0 THEN (pts.value - st.med) / d.mad END AS score,
         st.n >= $4::int AND d.mad > 0 AND abs(pts.value - st.med) / d.mad > $5::float8 AS flagged
    FROM pts JOIN st USING (series_id) JOIN d USING (series_id)`,
    values: [10, 3.5],
  },
  iqr: {
    over: {},
    text: `  SELECT pts.series_id, pts.time, pts.value, st.q[2] AS baseline,
         CASE WHEN st.n < $4::int OR st.q[3] = st.q[1] THEN NULL
              WHEN pts.value > st.q[3] THEN (pts.value - st.q[3]) / (st.q[3] - st.q[1])
              WHEN pts.value < st.q[1] THEN (pts.value - st.q[1]) / (st.q[3] - st.q[1])
              ELSE 0 END AS score,
         st.n >= $4::int AND st.q[3] > st.q[1]
           AND (pts.value < st.q[1] - $5::float8 * (st.q[3] - st.q[1]) OR pts.value > st.q[3] + $5::float8 * (st.q[3] - st.q[1])) AS flagged
    FROM pts
    JOIN (SELECT series_id, count(*) AS n,
                 percentile_cont(ARRAY[0.25, 0.5, 0.75]::float8[]) WITHIN GROUP (ORDER BY value) AS q
            FROM pts GROUP BY series_id) st USING (series_id)`,
    values: [10, 1.5],
  },
  roc: {
    over: { maxStep: 10 },
    text: `  SELECT series_id, time, value, prev AS baseline, value - prev AS score,
         prev IS NOT NULL AND abs(value - prev) > $4::float8 AS flagged
    FROM (SELECT series_id, time, value, lag(value) OVER (PARTITION BY series_id ORDER BY time) AS prev FROM pts) x`,
    values: [10],
  },
  range: {
    over: { max: 30 },
    text: `  SELECT series_id, time, value,
         CASE WHEN value < NULL::float8 THEN NULL::float8 WHEN value > $4::float8 THEN $4::float8 END AS baseline,
         CASE WHEN value < NULL::float8 THEN value - NULL::float8 WHEN value > $4::float8 THEN value - $4::float8 END AS score,
         coalesce(value < NULL::float8, false) OR coalesce(value > $4::float8, false) AS flagged
    FROM pts`,
    values: [30],
  },
};

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

    it('builds its statement: exact text and parameters', () => {
      const s = scoring[name];
      expect(s, `SQL fixture for ${name}`).toBeDefined();
      const q = anomaliesQuery({
        method: name,
        filter: { metric: 'temp' },
        since: new Date(0),
        until: new Date(1),
        baseline: '24 hours',
        k: 1.5,
        minPoints: 10,
        ...s!.over,
      });
      const from = m.lookback ? `$2::timestamptz - INTERVAL '24 hours'` : '$2::timestamptz';
      expect(q.text)
        .toBe(`WITH sel AS (SELECT id, device_id, metric, unit FROM iotctl.series WHERE metric = $1),
pts AS (
  SELECT r.series_id, r.time, r.value FROM iotctl.points r JOIN sel ON sel.id = r.series_id
   WHERE r.time >= ${from} AND r.time < $3::timestamptz
),
scored AS (
${s!.text}
)
SELECT s.time, sel.device_id AS device, sel.metric, s.value, sel.unit, s.baseline, s.score
  FROM scored s JOIN sel ON sel.id = s.series_id
 WHERE s.flagged
 ORDER BY sel.device_id, sel.metric, s.time`);
      expect(q.values).toEqual(['temp', new Date(0), new Date(1), ...s!.values]);
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
