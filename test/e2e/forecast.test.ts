// iotctl forecast as a subprocess on every server target (PostgreSQL, TimescaleDB, Citus where given): the pinned
// JSON shape, NDJSON and CSV, a usage error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';
import { addSeries, at, initStore } from '../integration/query-data.js';

describe.each(targetKinds.filter((k) => k !== 'embedded'))(
  'iotctl forecast as a subprocess on the %s target',
  (kind) => {
    let target: TestTarget;
    const cli = (...args: string[]) => runCli([...args, '--db', target.spec]);

    beforeAll(async () => {
      target = await makeTarget(kind);
      const db = await target.open();
      try {
        const store = await initStore(db);
        for (const device of ['a', 'b'])
          await addSeries(db, store, {
            device,
            metric: 'temp',
            unit: '°C',
            first: 0,
            last: 5 * 1440 - 1,
            valueSql: `20 - 10 * cos(2 * pi() * i / 1440) + 0.3 * sin(i * 1.7)`,
            skip: 'i % 10 <> 0',
          });
      } finally {
        await db.close();
      }
    });
    afterAll(async () => target?.cleanup());

    it('--json: the pinned shape', async () => {
      const r = await cli('forecast', '--metric', 'temp', '--device', 'a', '--horizon', '12h', '--json');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(Object.keys(out)).toEqual([
        'device',
        'metric',
        'unit',
        'every',
        'season',
        'horizon',
        'since',
        'until',
        'params',
        'fitted',
        'rows',
      ]);
      expect(out).toMatchObject({
        device: 'a',
        metric: 'temp',
        unit: '°C',
        every: '1h',
        season: '1d',
        horizon: '12h',
        since: at(0).toISOString(),
        until: at(5 * 1440).toISOString(),
        fitted: { buckets: 120, missing: 0, candidates: [{ season: null }, { season: '1d' }] },
      });
      expect(Object.keys(out.params)).toEqual(['alpha', 'beta', 'gamma', 'phi']);
      expect(Object.keys(out.fitted)).toEqual(['buckets', 'missing', 'rmse', 'mae', 'mase', 'candidates']);
      expect(out.rows).toHaveLength(12);
      expect(Object.keys(out.rows[0])).toEqual(['time', 'forecast', 'lo80', 'hi80', 'lo95', 'hi95']);
      expect(out.rows[0].time).toBe(at(5 * 1440).toISOString());
    });

    it('--format ndjson gives the rows of --json, a line each; csv their columns and the unit', async () => {
      const args = ['forecast', '--metric', 'temp', '--device', 'a', '--horizon', '6h'];
      const [json, nd, csv] = await Promise.all([
        cli(...args, '--json'),
        cli(...args, '--format', 'ndjson'),
        cli(...args, '--format', 'csv'),
      ]);
      expect([json.code, nd.code, csv.code]).toEqual([0, 0, 0]);
      const lines = nd.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines).toEqual(JSON.parse(json.stdout).rows);
      const rows = csv.stdout.trimEnd().split('\n');
      expect(rows[0]).toBe('time,forecast,lo80,hi80,lo95,hi95,unit');
      expect(rows).toHaveLength(1 + 72); // 6 hours of 5-minute buckets (the width --horizon 6h chooses)
      expect(rows[1]).toMatch(/,°C$/);
    });

    it('a selection of two series is a usage error naming them (exit 2)', async () => {
      const r = await cli('forecast', '--metric', 'temp', '--horizon', '12h');
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/forecast reads one series; the selection matches 2: a temp, b temp/);
      expect(r.stderr).toMatch(/--device/);
    });
  },
);
