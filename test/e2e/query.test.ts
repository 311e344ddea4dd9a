import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';
import { addLabelledSeries, at, initStore, refreshRollups } from '../integration/query-data.js';

// The pinned JSON shapes of `iotctl query` and `iotctl anomalies`, and their table/CSV output, per target.
describe.each(targetKinds)('iotctl query and anomalies as a subprocess on the %s target', (kind) => {
  let target: TestTarget;
  const cli = (...args: string[]) => runCli([...args, '--db', target.spec]);
  const range = ['--since', at(0).toISOString(), '--until', at(480).toISOString()];

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

  it('query agg --json --explain: the pinned shape, answered from rollup_1h', async () => {
    const r = await cli(
      'query',
      'agg',
      '--metric',
      'temp',
      '--device',
      'clean,stuck',
      ...range,
      '--every',
      '1h',
      '--fn',
      'avg,max,count',
      '--explain',
      '--json',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(['every', 'since', 'until', 'fns', 'rows', 'explain']);
    expect(out).toMatchObject({
      every: '1h',
      since: at(0).toISOString(),
      until: at(480).toISOString(),
      fns: ['avg', 'max', 'count'],
    });
    expect(out.explain).toEqual([
      {
        source: 'rollup_1h',
        from: at(0).toISOString(),
        to: at(480).toISOString(),
        reason: expect.stringMatching(/whole multiple/),
      },
    ]);
    expect(out.rows).toHaveLength(16);
    expect(out.rows[8]).toEqual({
      time: at(0).toISOString(),
      device: 'stuck',
      metric: 'temp',
      unit: '°C',
      avg: 21.5,
      max: 21.5,
      count: 60,
    });
  });

  it('query agg as a table: units, a sparkline per series, --explain on stderr, --chart', async () => {
    const r = await cli(
      'query',
      'agg',
      '--metric',
      'temp',
      '--device',
      'spike',
      ...range,
      '--every',
      '1h',
      '--fn',
      'max,count',
      '--explain',
      '--chart',
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^explain: rollup_1h +2026-01-05T00:00:00.000Z \.\. 2026-01-05T08:00:00.000Z/);
    expect(r.stdout).toMatch(/│ 2026-01-05T07:00:00.000Z │ spike +│ temp +│ +[\d.]+ °C │ +60 │/);
    expect(r.stdout).toMatch(/max per 1h/);
    expect(r.stdout).toMatch(/[▁▂▃▄▅▆▇█]{8}/);
    expect(r.stdout).toMatch(/spike temp \(max per 1h\)\n.*┤/);
  });

  it('query latest --json and --stale', async () => {
    const r = await cli('query', 'latest', '--metric', 'temp', '--stale', '15m', '--json');
    expect(r.code).toBe(5); // stale series found: a failed check
    const fresh = await cli('query', 'latest', '--metric', 'temp', '--stale', '10000d', '--json');
    expect(fresh.code).toBe(0);
    expect(JSON.parse(fresh.stdout).rows).toEqual([]);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(['stale', 'rows']);
    expect(out.stale).toBe('15m');
    expect(out.rows).toHaveLength(6);
    expect(Object.keys(out.rows[0])).toEqual(['time', 'device', 'metric', 'value', 'unit', 'ageSeconds']);
    expect(out.rows[0]).toMatchObject({
      time: at(479).toISOString(),
      device: 'clean',
      metric: 'temp',
      unit: '°C',
    });
  });

  it('query gaps --json and --format csv', async () => {
    const r = await cli('query', 'gaps', '--metric', 'temp', '--expected', '5m', ...range, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      expected: '5m',
      tolerance: '150s',
      since: at(0).toISOString(),
      until: at(480).toISOString(),
      rows: [
        {
          device: 'dropout',
          metric: 'temp',
          from: at(389).toISOString(),
          to: at(420).toISOString(),
          seconds: 1860,
          missing: 5,
          open: false,
        },
      ],
    });
    const csv = await cli(
      'query',
      'gaps',
      '--metric',
      'temp',
      '--expected',
      '5m',
      ...range,
      '--format',
      'csv',
    );
    expect(csv.stdout).toBe(
      `device,metric,from,to,seconds,missing,open\ndropout,temp,${at(389).toISOString()},${at(420).toISOString()},1860,5,false\n`,
    );
  });

  it('query raw streams json and csv; --downsample keeps n per series', async () => {
    const json = await cli('query', 'raw', '--metric', 'temp', '--device', 'spike,clean', ...range, '--json');
    expect(json.code).toBe(0);
    const out = JSON.parse(json.stdout);
    expect(Object.keys(out)).toEqual(['since', 'until', 'rows']);
    expect(out.rows).toHaveLength(960);
    expect(out.rows[0]).toEqual({
      time: at(0).toISOString(),
      device: 'clean',
      metric: 'temp',
      value: expect.any(Number),
      unit: '°C',
    });
    const csv = await cli(
      'query',
      'raw',
      '--metric',
      'temp',
      '--device',
      'spike',
      ...range,
      '--downsample',
      '50',
      '--format',
      'csv',
    );
    const lines = csv.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('time,device,metric,value,unit');
    expect(lines).toHaveLength(51);
    expect(lines.some((l) => l.startsWith(at(420).toISOString()))).toBe(true);
    // A metric no series has is a usage error now, not an empty answer (see the empty-results case below).
    const none = await cli('query', 'raw', '--metric', 'nope', ...range, '--json');
    expect([none.code, none.stdout]).toEqual([2, '']);
  });

  it('anomalies --points --json: the pinned shape; a table with units', async () => {
    const win = ['--since', at(360).toISOString(), '--until', at(480).toISOString()];
    const r = await cli(
      'anomalies',
      '--metric',
      'temp',
      '--device',
      'spike',
      ...win,
      '--method',
      'roc',
      '--max-step',
      '5',
      '--points',
      '--json',
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(['method', 'since', 'until', 'params', 'rows']);
    expect(out.params).toEqual({ maxStep: 5 });
    expect(out.rows.map((x: { time: string }) => x.time)).toEqual([
      at(420).toISOString(),
      at(421).toISOString(),
    ]);
    expect(Object.keys(out.rows[0])).toEqual([
      'time',
      'device',
      'metric',
      'value',
      'unit',
      'baseline',
      'score',
      'method',
    ]);
    const table = await cli('anomalies', '--metric', 'temp', ...win, '--method', 'mad', '--points');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      /│ 2026-01-05T07:00:00.000Z │ spike +│ temp +│ +[\d.]+ °C │ +[\d.]+ °C │ +[\d.]+ │ mad +│/,
    );
  });

  it('anomalies --json: an array of incidents, the pinned shape; a table with a sparkline; exit 5 on request', async () => {
    const win = ['--since', at(360).toISOString(), '--until', at(480).toISOString()];
    const r = await cli('anomalies', ...win, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.map((i: { device: string }) => i.device)).toEqual(['shift', 'spike']);
    expect(out[1]).toEqual({
      device: 'spike',
      metrics: ['temp'],
      start: at(420).toISOString(),
      end: at(420).toISOString(),
      detected: at(420).toISOString(),
      durationSeconds: 0,
      peakTime: at(420).toISOString(),
      peakMetric: 'temp',
      peakValue: expect.closeTo(35, 0),
      unit: '°C',
      score: expect.any(Number),
      readings: 1,
      kinds: ['spike'],
      ongoing: false,
      method: 'robust',
    });
    expect(out[0]).toMatchObject({ start: at(460).toISOString(), end: at(479).toISOString(), ongoing: true });
    const table = await cli('anomalies', ...win, '--device', 'spike');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      /│ spike +│ temp +│ 2026-01-05T07:00:00.000Z │ 2026-01-05T07:00:00.000Z +│ +0s │/,
    );
    expect(table.stdout).toMatch(/│ robust +│ [▁▂▃▄▅▆▇█]{9,} +│/);
    const cron = await cli('anomalies', ...win, '--fail-on-incident', '--quiet');
    expect(cron.code).toBe(5);
    const calm = await cli('anomalies', ...win, '--device', 'clean', '--fail-on-incident', '--json');
    expect([calm.code, JSON.parse(calm.stdout)]).toEqual([0, []]);
    const csv = await cli('anomalies', ...win, '--device', 'spike', '--format', 'csv');
    expect(csv.stdout.split('\n')[0]).toBe(
      'device,metrics,start,end,detected,durationSeconds,peakTime,peakMetric,peakValue,unit,score,readings,kinds,ongoing,method',
    );
  });

  it('a filter matching no series exits 2 naming it; no readings in the range exits 0 with a note on stderr and valid JSON', async () => {
    for (const args of [['query', 'agg'], ['anomalies']]) {
      const none = await cli(...args, '--metric', 'nosuch', '--json');
      expect(none.code, args.join(' ')).toBe(2);
      expect(none.stdout).toBe('');
      expect(none.stderr).toBe('error: no series matches --metric nosuch (metrics: temp)\n');
    }
    const later = ['--metric', 'temp', '--since', at(600).toISOString(), '--until', at(660).toISOString()];
    const note = `no readings between ${at(600).toISOString()} and ${at(660).toISOString()} (the selected series hold readings from ${at(0).toISOString()} to ${at(479).toISOString()})\n`;
    const agg = await cli('query', 'agg', ...later, '--json');
    expect([agg.code, agg.stderr]).toEqual([0, note]);
    expect(JSON.parse(agg.stdout).rows).toEqual([]);
    const raw = await cli('query', 'raw', ...later, '--format', 'csv');
    expect([raw.code, raw.stderr, raw.stdout]).toEqual([0, note, 'time,device,metric,value,unit\n']);
    const gaps = await cli('query', 'gaps', '--expected', '1m', ...later);
    expect([gaps.code, gaps.stdout, gaps.stderr]).toEqual([0, '', note]);
    const quiet = await cli('anomalies', ...later, '--json', '--quiet');
    expect([quiet.code, quiet.stderr, JSON.parse(quiet.stdout)]).toEqual([0, '', []]);
  });

  it('bad input is one line on stderr with exit 2', async () => {
    const since = await cli('query', 'agg', '--metric', 'temp', '--since', 'yesterday');
    expect(since.code).toBe(2);
    expect(since.stdout).toBe('');
    expect(since.stderr).toMatch(/^error: invalid --since 'yesterday'\nhint: /);
    const roc = await cli('anomalies', '--metric', 'temp', '--method', 'roc');
    expect(roc.code).toBe(2);
    expect(roc.stderr).toMatch(/^error: --method roc needs --max-step/);
    const fn = await cli('query', 'agg', '--fn', 'median');
    expect(fn.code).toBe(2);
    expect(fn.stderr).toMatch(/unknown aggregate 'median'/);
  });

  it('--format ndjson: one line per row, each the object --json puts in its rows; other commands refuse it', async () => {
    const win = ['--since', at(360).toISOString(), '--until', at(480).toISOString()];
    const lines = (text: string) => {
      expect(text.endsWith('\n')).toBe(true);
      return text
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown);
    };
    const cases: Array<{ args: string[]; rows: (json: never) => unknown[]; count: number }> = [
      {
        args: ['query', 'agg', '--metric', 'temp', ...range, '--every', '1h', '--fn', 'avg,p95,count'],
        rows: (j: { rows: unknown[] }) => j.rows,
        count: 48,
      },
      {
        args: ['query', 'raw', '--metric', 'temp', '--device', 'spike', ...range],
        rows: (j: { rows: unknown[] }) => j.rows,
        count: 480,
      },
      { args: ['query', 'latest', '--metric', 'temp'], rows: (j: { rows: unknown[] }) => j.rows, count: 6 },
      {
        args: ['query', 'gaps', '--metric', 'temp', '--expected', '5m', ...range],
        rows: (j: { rows: unknown[] }) => j.rows,
        count: 1,
      },
      { args: ['anomalies', ...win], rows: (j: unknown[]) => j, count: 2 },
      {
        args: ['anomalies', '--metric', 'temp', '--device', 'spike', ...win, '--method', 'mad', '--points'],
        rows: (j: { rows: unknown[] }) => j.rows,
        count: 1,
      },
      { args: ['series', '--metric', 'temp'], rows: (j: unknown[]) => j, count: 6 },
    ];
    // The printers do not depend on the target: the embedded target (5 s a subprocess) runs the agg case only.
    for (const c of kind === 'embedded' ? cases.slice(0, 1) : cases) {
      const nd = await cli(...c.args, '--format', 'ndjson');
      expect([c.args.join(' '), nd.code, nd.stderr]).toEqual([c.args.join(' '), 0, '']);
      const json = await cli(...c.args, '--json');
      const expected = c.rows(JSON.parse(json.stdout) as never);
      expect(expected.length, c.args.join(' ')).toBeGreaterThanOrEqual(c.count);
      // query latest's age is measured from now, which moves between the two runs.
      const timeless = (rows: unknown[]) => rows.map((r) => ({ ...(r as object), ageSeconds: undefined }));
      expect(timeless(lines(nd.stdout))).toEqual(timeless(expected));
    }
    // The key order is that of the JSON rows too.
    const agg = await cli(
      'query',
      'agg',
      '--metric',
      'temp',
      ...range,
      '--fn',
      'max,avg',
      '--format',
      'ndjson',
    );
    expect(Object.keys(lines(agg.stdout)[0] as object)).toEqual([
      'time',
      'device',
      'metric',
      'unit',
      'max',
      'avg',
    ]);
    // No rows, no lines.
    const none = await cli('query', 'latest', '--metric', 'temp', '--stale', '10000d', '--format', 'ndjson');
    expect([none.code, none.stdout]).toEqual([0, '']);
    const status = await cli('status', '--format', 'ndjson');
    expect(status.code).toBe(2);
    expect(status.stdout).toBe('');
    expect(status.stderr).toMatch(/--format ndjson is for commands that print rows, not iotctl status/);
  });
});
