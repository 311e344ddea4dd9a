import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';
import { addLabelledSeries, at, initStore, refreshRollups } from '../integration/query-data.js';

// query agg's counter, delta and --window columns in every output format, as a subprocess.
describe.each(targetKinds)('iotctl query agg --fn increase,rate,delta --window on the %s target', (kind) => {
  let target: TestTarget;
  const cli = (...args: string[]) => runCli([...args, '--db', target.spec]);
  // Starts inside the 02:00 bucket: the range starts at 02:00 and reads 01:00 for the window and delta.
  const args = [
    'query',
    'agg',
    '--metric',
    'temp',
    '--device',
    'clean',
    '--since',
    new Date(at(150).getTime()).toISOString(),
    '--until',
    at(480).toISOString(),
    '--every',
    '1h',
    '--fn',
    'avg,increase,rate,delta',
    '--window',
    '2h',
  ];
  const columns = [
    'avg',
    'increase',
    'rate',
    'moving_avg',
    'moving_increase',
    'moving_rate',
    'delta_avg',
    'delta_increase',
    'delta_rate',
  ];

  beforeAll(async () => {
    target = await makeTarget(kind);
    const db = await target.open();
    try {
      const store = await initStore(db);
      await addLabelledSeries(db, store);
      await refreshRollups(db, store, at(480));
    } finally {
      await db.close();
    }
  });
  afterAll(async () => target?.cleanup());

  it('--json --explain: the columns in fns and in each row, the sources from the bucket before the range', async () => {
    const r = await cli(...args, '--json', '--explain');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ every: '1h', since: at(120).toISOString(), fns: columns });
    expect(out.explain[0]).toMatchObject({ source: 'rollup_1h', from: at(60).toISOString() });
    expect(out.rows).toHaveLength(6);
    expect(Object.keys(out.rows[0])).toEqual(['time', 'device', 'metric', 'unit', ...columns]);
    expect(out.rows[0].time).toBe(at(120).toISOString());
    for (const row of out.rows) {
      expect(row.rate).toBeCloseTo(row.increase / 3600, 12);
      for (const c of columns) expect(typeof row[c]).toBe('number');
    }
    expect(out.rows[1].delta_avg).toBeCloseTo(out.rows[1].avg - out.rows[0].avg, 9);
  });

  it('--format csv and ndjson carry the same columns', async () => {
    const csv = await cli(...args, '--format', 'csv');
    expect(csv.code).toBe(0);
    expect(csv.stdout.split('\n')[0]).toBe(['time', 'device', 'metric', ...columns, 'unit'].join(','));
    expect(csv.stdout.trim().split('\n')).toHaveLength(7);
    // Basic functions alone with --window: still the row path (the database's CSV lines have no window).
    const basic = args.map((a) => (a === 'avg,increase,rate,delta' ? 'avg,max' : a));
    const moving = await cli(...basic, '--format', 'csv');
    expect(moving.code).toBe(0);
    const [head, first] = moving.stdout.split('\n');
    expect(first!.split(',')).toHaveLength(8);
    expect(first!.split(',')[5]).not.toBe('');
    expect(head).toBe('time,device,metric,avg,max,moving_avg,moving_max,unit');
    const nd = await cli(...args, '--format', 'ndjson');
    expect(nd.code).toBe(0);
    const lines = nd.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(6);
    expect(Object.keys(lines[0])).toEqual(['time', 'device', 'metric', 'unit', ...columns]);
  });

  it('a window that is not whole buckets and a percentile beside a counter are usage errors (exit 2)', async () => {
    const w = await cli('query', 'agg', '--metric', 'temp', '--every', '1h', '--window', '90m');
    expect(w.code).toBe(2);
    expect(w.stderr).toMatch(/--window 90m is not a whole number of --every 1h buckets/);
    const p = await cli('query', 'agg', '--metric', 'temp', '--fn', 'increase,p95');
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(/p95 cannot be combined with increase/);
    expect(p.stderr).not.toMatch(/at .*\.js/);
  });
});
