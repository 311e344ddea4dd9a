// The pinned output of `iotctl query profile` and `iotctl query corr` as a subprocess: JSON shapes, the
// table, CSV and NDJSON. On every server target (the data functions
// are checked on every target in test/integration/query-analytics.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';
import { addSeries, at, initStore, refreshRollups } from '../integration/query-data.js';

const END = 2 * 1440;
const wave = (i: string) => `(20 + 3 * sin(${i} / 150.0) + sin(${i} / 37.0))`;

describe.each(targetKinds.filter((k) => k !== 'embedded'))(
  'iotctl query profile and corr as a subprocess on the %s target',
  (kind) => {
    let target: TestTarget;
    const cli = (...args: string[]) => runCli([...args, '--db', target.spec]);
    const range = ['--since', at(0).toISOString(), '--until', at(END).toISOString()];

    beforeAll(async () => {
      target = await makeTarget(kind);
      const db = await target.open();
      try {
        const store = await initStore(db);
        await addSeries(db, store, {
          device: 'hall-1',
          metric: 'temp',
          unit: '°C',
          first: 0,
          last: END - 1,
          valueSql: wave('i'),
        });
        // hall-2 follows hall-1 by an hour.
        await addSeries(db, store, {
          device: 'hall-2',
          metric: 'temp',
          unit: '°C',
          first: 0,
          last: END - 1,
          valueSql: wave('(i - 60)'),
        });
        await addSeries(db, store, {
          device: 'hall-1',
          metric: 'rh',
          unit: '%',
          first: 0,
          last: END - 1,
          valueSql: `100 - 2 * ${wave('i')}`,
        });
        await refreshRollups(db, store, at(END));
      } finally {
        await db.close();
      }
    });
    afterAll(async () => target?.cleanup());

    it('query profile: the JSON shape; a table with units and a sparkline per series; csv and ndjson rows', async () => {
      const json = await cli(
        'query',
        'profile',
        '--metric',
        'temp',
        '--device',
        'hall-1',
        ...range,
        '--json',
      );
      expect([json.code, json.stderr]).toEqual([0, '']);
      const out = JSON.parse(json.stdout);
      expect(Object.keys(out)).toEqual(['by', 'tz', 'since', 'until', 'rows']);
      expect(out).toMatchObject({
        by: 'hour',
        tz: 'UTC',
        since: at(0).toISOString(),
        until: at(END).toISOString(),
      });
      expect(out.rows).toHaveLength(24);
      expect(out.rows[3]).toEqual({
        device: 'hall-1',
        metric: 'temp',
        unit: '°C',
        hour: 3,
        p25: expect.any(Number),
        median: expect.any(Number),
        p75: expect.any(Number),
        hours: 2,
      });

      const table = await cli(
        'query',
        'profile',
        '--metric',
        'temp',
        ...range,
        '--by',
        'weekday',
        '--tz',
        'Europe/Rome',
      );
      expect([table.code, table.stderr]).toEqual([0, '']);
      expect(table.stdout).toMatch(/│ device +│ metric +│ +weekday │ +p25 │ +median │ +p75 │ +hours │/);
      // 2026-01-05 00:00 UTC is 01:00 on Monday in Rome: 23 whole local hours that day, 24 on Tuesday.
      expect(table.stdout).toMatch(/│ hall-2 +│ temp +│ +Mon │ +[\d.]+ °C │ +[\d.]+ °C │ +[\d.]+ °C │ +23 │/);
      expect(table.stdout).toMatch(/│ hall-2 +│ temp +│ +Tue │ .* │ +24 │/);
      expect(table.stdout).toMatch(/median by weekday \(Mon-Sun, Europe\/Rome\)/);

      const csv = await cli('query', 'profile', '--metric', 'temp', ...range, '--format', 'csv');
      const lines = csv.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe('device,metric,hour,p25,median,p75,hours,unit');
      expect(lines).toHaveLength(1 + 2 * 24);
      const nd = await cli(
        'query',
        'profile',
        '--metric',
        'temp',
        ...range,
        '--by',
        'weekday',
        '--format',
        'ndjson',
      );
      const objects = nd.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(objects).toHaveLength(2 * 7);
      expect(objects[0]).toMatchObject({ device: 'hall-1', weekday: 1, hours: 24 });
    });

    it('query corr: the JSON shape; a table with the best lag; csv; usage errors exit 2', async () => {
      const json = await cli('query', 'corr', '--metric', 'temp', ...range, '--max-lag', '3h', '--json');
      expect([json.code, json.stderr]).toEqual([0, '']);
      const out = JSON.parse(json.stdout);
      expect(Object.keys(out)).toEqual([
        'metrics',
        'every',
        'maxLag',
        'since',
        'until',
        'minBuckets',
        'rows',
      ]);
      expect(out).toMatchObject({ metrics: ['temp'], every: '1h', maxLag: '3h', minBuckets: 3 });
      expect(out.rows).toEqual([
        {
          deviceA: 'hall-1',
          metricA: 'temp',
          deviceB: 'hall-2',
          metricB: 'temp',
          n: 48,
          r: expect.any(Number),
          bestLagSeconds: 3600,
          bestR: expect.closeTo(1, 9),
          bestN: 47,
        },
      ]);

      const table = await cli('query', 'corr', '--metric', 'temp,rh', ...range);
      expect([table.code, table.stderr]).toEqual([0, '']);
      expect(table.stdout).toMatch(/│ device a │ metric a │ device b │ metric b │ +n │ +r │/);
      expect(table.stdout).toMatch(/│ hall-1 +│ temp +│ hall-1 +│ rh +│ +48 │ -1\.0000 │/);
      expect(table.stdout).not.toContain('best lag');
      const lagged = await cli('query', 'corr', '--metric', 'temp', ...range, '--max-lag', '2h');
      expect(lagged.stdout).toMatch(
        /│ hall-1 +│ temp +│ hall-2 +│ temp +│ +48 │ +0\.\d{4} │ +\+1h │ +1\.0000 │ +47 │/,
      );

      const csv = await cli('query', 'corr', '--metric', 'temp,rh', ...range, '--format', 'csv');
      expect(csv.stdout.split('\n')[0]).toBe(
        'deviceA,metricA,deviceB,metricB,n,r,bestLagSeconds,bestR,bestN',
      );

      const bad = await cli('query', 'corr', '--metric', 'temp', '--max-lag', '90m');
      expect([bad.code, bad.stdout, bad.stderr.split('\n')[0]]).toEqual([
        2,
        '',
        'error: --max-lag (90m) must be a whole multiple of --every (1h)',
      ]);
    });
  },
);
