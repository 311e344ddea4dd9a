// `iotctl anomalies` incidents on the labelled series (query-data.ts), per target: every metric of a
// device at once, the device merge, history before --since, and which run reports an incident.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anomalyIncidents, type AnomaliesOptions } from '../../src/anomalies/detect.js';
import type { Incident } from '../../src/anomalies/incidents.js';
import type { Db } from '../../src/db/types.js';
import { makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';
import { addLabelledSeries, addSeries, at, initStore } from './query-data.js';

const minute = (ms: number) => (ms - at(0).getTime()) / 60_000;
const options = (over: Partial<AnomaliesOptions>): AnomaliesOptions => ({
  method: 'robust',
  filter: {},
  range: { since: at(360), until: at(480) },
  ...over,
});
const brief = (i: Incident) => [i.device, i.metrics, minute(i.start), minute(i.end), i.ongoing];

describe.each(targetKinds)('anomaly incidents on the %s target', (kind) => {
  let target: TestTarget;
  let db: Db;
  beforeAll(async () => {
    target = await makeTarget(kind);
    db = await target.open();
    const store = await initStore(db);
    await addLabelledSeries(db, store);
    // A second metric of the `shift` device that jumps two minutes after its temperature does.
    await addSeries(db, store, {
      device: 'shift',
      metric: 'rh',
      unit: '%',
      first: 0,
      last: 479,
      valueSql: `50 + 3 * sin(2 * pi() * i / 120) + CASE WHEN i >= 462 THEN 30 ELSE 0 END`,
    });
  });
  afterAll(async () => {
    await db?.close();
    await target?.cleanup();
  });

  it('scores every metric of every device; --group device (the default) merges a device’s metrics', async () => {
    const res = await anomalyIncidents(db, options({}));
    expect(res.incidents.map(brief)).toEqual([
      ['shift', ['temp', 'rh'], 460, 479, true],
      ['spike', ['temp'], 420, 420, false],
    ]);
    expect(res.incidents[0]).toMatchObject({ peakMetric: 'rh', unit: '%', kinds: ['level', 'spike'] });
    expect(res.incidents[1]).toMatchObject({
      peakTime: at(420).getTime(),
      peakValue: expect.closeTo(35, 0),
      readings: 1,
      kinds: ['spike'],
    });
    // 120 minutes of 7 series but the 30 the dropout missed; the history before --since is not counted.
    expect(res.readings).toBe(7 * 120 - 30);
  });

  it('--group series keeps one incident per series; --metric scores one metric', async () => {
    const series = await anomalyIncidents(db, options({ group: 'series' }));
    expect(series.incidents.map(brief)).toEqual([
      ['shift', ['temp'], 460, 479, true],
      ['shift', ['rh'], 462, 479, true],
      ['spike', ['temp'], 420, 420, false],
    ]);
    const rh = await anomalyIncidents(db, options({ filter: { metric: 'rh' } }));
    expect(rh.incidents.map(brief)).toEqual([['shift', ['rh'], 462, 479, true]]);
  });

  it('reads history before --since: ten minutes around the spike are scored against the hours before', async () => {
    const res = await anomalyIncidents(db, options({ range: { since: at(415), until: at(425) } }));
    // Ongoing: the range ends before 30 normal readings have followed it.
    expect(res.incidents.map(brief)).toEqual([['spike', ['temp'], 420, 420, true]]);
    expect(res.readings).toBe(7 * 10 - 5); // the dropout has no readings in 415..419
  });

  it('an incident is reported by the run in which it is detected, not again while it goes on', async () => {
    const before = await anomalyIncidents(db, options({ range: { since: at(455), until: at(470) } }));
    expect(before.incidents.map(brief)).toEqual([['shift', ['temp', 'rh'], 460, 464, true]]);
    // The next run (cron, --since 10m) still sees it going on, detected in its history: not reported.
    const next = await anomalyIncidents(db, options({ range: { since: at(470), until: at(480) } }));
    expect(next.incidents).toEqual([]);
  });

  it('explicit methods report incidents too: zscore on the spike, range on every reading outside', async () => {
    const z = await anomalyIncidents(db, options({ method: 'zscore', filter: { devices: ['spike'] } }));
    expect(z.incidents.map(brief)).toEqual([['spike', ['temp'], 420, 420, false]]);
    const r = await anomalyIncidents(
      db,
      options({ method: 'range', max: 25, filter: { devices: ['spike', 'shift'], metric: 'temp' } }),
    );
    expect(r.incidents.map(brief)).toEqual([
      ['shift', ['temp'], 460, 479, true],
      ['spike', ['temp'], 420, 420, false],
    ]);
    expect(r.incidents[0]).toMatchObject({ readings: 20, kinds: ['bounds'] });
  });
});
