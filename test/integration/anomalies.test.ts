import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anomalies, type AnomaliesOptions } from '../../src/anomalies/detect.js';
import { anomalyMethods } from '../../src/anomalies/methods/index.js';
import type { Db } from '../../src/db/types.js';
import { parseDuration } from '../../src/util/duration.js';
import { makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';
import { addLabelledSeries, at, initStore, labelled } from './query-data.js';

// Labelled series (see query-data.ts), one reading a minute for minutes 0..479; the analysed window is
// minutes 360..479: spike at 420 (+15), level shift from 460 (+15), drift from 360 (+0.1 a minute),
// a stuck sensor (constant), a dropout (no readings 390..419) and a clean series.
const devices = labelled.map((s) => s.device);

const options = (over: Partial<AnomaliesOptions>): AnomaliesOptions => ({
  method: 'zscore',
  filter: { metric: 'temp' },
  range: { since: at(360), until: at(480) },
  baseline: parseDuration('6h'),
  k: 1.5,
  minPoints: 10,
  ...over,
});

const minute = (d: Date) => (d.getTime() - at(0).getTime()) / 60_000;

describe.each(targetKinds)('iotctl anomalies on the %s target', (kind) => {
  let target: TestTarget;
  let db: Db;
  beforeAll(async () => {
    target = await makeTarget(kind);
    db = await target.open();
    const store = await initStore(db);
    await addLabelledSeries(db, store);
  });
  afterAll(async () => {
    await db?.close();
    await target?.cleanup();
  });

  /** Flagged minutes per device, every labelled device present (empty when nothing is flagged). */
  async function flagged(over: Partial<AnomaliesOptions>): Promise<Record<string, number[]>> {
    const res = await anomalies(db, options(over));
    const out = Object.fromEntries(devices.map((d) => [d, [] as number[]]));
    for (const r of res.rows) out[r.device]?.push(minute(r.time));
    return out;
  }

  it('zscore flags the spike, the start of the level shift and the drift; nothing on clean, stuck or dropout', async () => {
    const f = await flagged({ method: 'zscore' });
    expect(f.spike).toEqual([420]);
    expect(f.shift?.[0]).toBe(460);
    expect(f.shift?.every((m) => m >= 460)).toBe(true);
    expect(f.drift?.length).toBeGreaterThan(0);
    // The drift is flagged while it leaves the trailing baseline, until the baseline catches up.
    expect(f.drift?.every((m) => m >= 370 && m < 420)).toBe(true);
    expect([f.clean, f.stuck, f.dropout]).toEqual([[], [], []]);
  });

  it('zscore row shape: baseline is the trailing mean, score the z value', async () => {
    const res = await anomalies(
      db,
      options({ method: 'zscore', filter: { metric: 'temp', devices: ['spike'] } }),
    );
    expect(res).toMatchObject({ method: 'zscore', params: { baseline: '6h', threshold: 3, minPoints: 10 } });
    expect(res.rows).toEqual([
      {
        time: at(420),
        device: 'spike',
        metric: 'temp',
        value: expect.closeTo(35, 0),
        unit: '°C',
        baseline: expect.closeTo(20, 0),
        score: expect.any(Number),
        method: 'zscore',
      },
    ]);
    expect(res.rows[0]?.score).toBeGreaterThan(8);
  });

  it('zscore with too few baseline points does not score (no flags at the start of the data)', async () => {
    // From minute 0 the trailing baseline is empty; a spike in the first minutes would be unjudgeable.
    const f = await flagged({ method: 'zscore', range: { since: at(0), until: at(360) } });
    expect(Object.values(f).flat()).toEqual([]);
  });

  it('mad flags the spike and the shifted readings; stuck (zero MAD) and clean stay quiet', async () => {
    const f = await flagged({ method: 'mad' });
    expect(f.spike).toEqual([420]);
    expect(f.shift).toEqual(Array.from({ length: 20 }, (_, i) => 460 + i));
    expect([f.clean, f.stuck, f.dropout]).toEqual([[], [], []]);
  });

  it('iqr flags outside the Tukey fences: spike and shift; nothing on clean, stuck or dropout', async () => {
    const f = await flagged({ method: 'iqr' });
    expect(f.spike).toEqual([420]);
    expect(f.shift).toEqual(Array.from({ length: 20 }, (_, i) => 460 + i));
    expect([f.clean, f.stuck, f.dropout]).toEqual([[], [], []]);
  });

  it('roc flags jumps between consecutive readings: into and out of the spike, into the shift; not the drift', async () => {
    const f = await flagged({ method: 'roc', maxStep: 5 });
    expect(f).toEqual({ clean: [], spike: [420, 421], shift: [460], drift: [], stuck: [], dropout: [] });
    const res = await anomalies(
      db,
      options({ method: 'roc', maxStep: 5, filter: { metric: 'temp', devices: ['shift'] } }),
    );
    expect(res.rows[0]?.score).toBeCloseTo(15, 0);
  });

  it('range flags values outside --min/--max: the spike, the shift and the end of the drift', async () => {
    const f = await flagged({ method: 'range', min: 15, max: 25 });
    expect(f.spike).toEqual([420]);
    expect(f.shift).toHaveLength(20);
    expect(f.drift?.length).toBeGreaterThan(0);
    expect(f.drift?.every((m) => m > 390)).toBe(true);
    expect([f.clean, f.stuck, f.dropout]).toEqual([[], [], []]);
    const res = await anomalies(
      db,
      options({ method: 'range', max: 25, filter: { metric: 'temp', devices: ['spike'] } }),
    );
    expect(res.rows[0]).toMatchObject({ baseline: 25, score: expect.closeTo(res.rows[0]!.value - 25, 9) });
  });

  it('rejects a method without its parameters', async () => {
    await expect(anomalies(db, options({ method: 'roc' }))).rejects.toMatchObject({
      code: 'USAGE',
      exitCode: 2,
    });
    await expect(anomalies(db, options({ method: 'range' }))).rejects.toThrow(/--min and\/or --max/);
  });

  // Every registered method: a labelled case where it flags the spike and nothing on the clean series,
  // and its params are its flags. A method without a case here fails.
  it.each(anomalyMethods.map((m) => [m.name, m] as const))(
    '%s (registry walk): flags the spike at minute 420, nothing on clean; params are its flags',
    async (name, m) => {
      const over = cases[name];
      expect(over, `a labelled case for ${name} in this test`).toBeDefined();
      const res = await anomalies(db, options({ method: name, ...over }));
      expect(Object.keys(res.params)).toEqual(m.flags.map((f) => f.key));
      const f = Object.fromEntries(devices.map((d) => [d, [] as number[]]));
      for (const r of res.rows) f[r.device]?.push(minute(r.time));
      expect(f.spike).toContain(420);
      expect(f.clean).toEqual([]);
    },
  );
});

const cases: Record<string, Partial<AnomaliesOptions>> = {
  robust: {},
  zscore: {},
  mad: {},
  iqr: {},
  roc: { maxStep: 5 },
  range: { min: 15, max: 25 },
};
