// `iotctl export`: every reading, exactly as stored, in a form `iotctl ingest` reads back unchanged.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-export-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// Values and names CSV and JSON printers tend to change: 17 significant digits, extremes of a double,
// microseconds, a unit that is not ASCII, delimiters and quotes inside names and tags.
const tricky = [
  'time,device_id,metric,value,unit,tags',
  '2026-11-30T10:00:00.123456Z,"hall,1",temperature,0.00479298817650529,°C,"{""room"": ""a,b"", ""floor"": 2}"',
  '2026-11-30T10:00:01Z,"say ""hi""",humidity,-1e-300,,',
  '2026-11-30T10:00:02Z,"say ""hi""",humidity,1.7976931348623157e308,,',
  '2026-11-30T10:00:03.000001Z,"say ""hi""",humidity,5e-324,,',
  '2026-11-30T10:00:04Z,plain,pressure,-0.1,hPa,',
].join('\n');

describe.each(targetKinds)('iotctl export on the %s target', (kind) => {
  const targets: TestTarget[] = [];
  afterAll(async () => {
    for (const t of targets) await t.cleanup();
  });
  const fresh = async () => {
    const t = await makeTarget(kind);
    targets.push(t);
    const init = await runCli(['init', '--db', t.spec, '-q']);
    expect(init.code, init.stderr).toBe(0);
    return t;
  };

  let a: TestTarget;
  beforeAll(async () => {
    a = await fresh();
    const input = path.join(tmp, `tricky-${kind}.csv`);
    fs.writeFileSync(input, tricky + '\n');
    for (const file of [input, path.resolve('fixtures/demo/readings.csv')]) {
      const r = await runCli(['ingest', '--db', a.spec, file, '--json']);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  it('exports every reading losslessly; CSV and NDJSON both ingest into a fresh store unchanged', async () => {
    const csv = await runCli(['export', '--db', a.spec]);
    expect(csv.code, csv.stderr).toBe(0);
    const lines = csv.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('time,device_id,metric,value,unit,tags');
    expect(csv.stdout).toContain('2026-11-30T10:00:00.123456Z,"hall,1",temperature,0.00479298817650529,°C,');
    expect(csv.stderr).toMatch(/exported [\d,]+ readings of \d+ series/);
    const ndjson = await runCli(['export', '--db', a.spec, '--output-format', 'ndjson']);
    expect(ndjson.code, ndjson.stderr).toBe(0);
    const objects = ndjson.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objects).toHaveLength(lines.length - 1);
    expect(objects[0]).toMatchObject({
      device_id: 'hall,1',
      value: 0.00479298817650529,
      tags: { room: 'a,b' },
    });

    for (const [format, text] of [
      ['csv', csv.stdout],
      ['ndjson', ndjson.stdout],
    ] as const) {
      const b = await fresh();
      const file = path.join(tmp, `export-${kind}.${format}`);
      fs.writeFileSync(file, text);
      const load = await runCli(['ingest', '--db', b.spec, file, '--json']);
      expect(load.code, load.stderr).toBe(0);
      expect(JSON.parse(load.stdout)).toMatchObject({
        read: objects.length,
        loaded: objects.length,
        rejected: 0,
      });
      const again = await runCli(['export', '--db', b.spec]);
      // Series ids may differ between the stores; the ordering is by series then time, and both stores
      // created their series in the order they first met them, so the files are equal line for line.
      expect(again.stdout).toBe(csv.stdout);
    }
  });

  it('--since, --until and the series filters narrow it; an empty selection is a header alone', async () => {
    const some = await runCli([
      'export',
      '--db',
      a.spec,
      '--device',
      'hall-1',
      '--metric',
      'temperature',
      '--since',
      '2026-10-30',
      '--until',
      '2026-10-30T01:00Z',
    ]);
    expect(some.code, some.stderr).toBe(0);
    const rows = some.stdout.trimEnd().split('\n').slice(1);
    expect(rows).toHaveLength(12);
    expect(rows.every((l) => /^2026-10-30T00:\d\d:00\.000000Z,hall-1,temperature,/.test(l))).toBe(true);
    const none = await runCli(['export', '--db', a.spec, '--device', 'nosuch']);
    expect(none).toMatchObject({ code: 0, stdout: 'time,device_id,metric,value,unit,tags\n' });
    const bad = await runCli(['export', '--db', a.spec, '--output-format', 'xml']);
    expect(bad.code).toBe(2);
  });

  it('events left out of an export are counted on stderr, not dropped silently', async () => {
    const t = await fresh();
    const input = path.join(tmp, `events-${kind}.ndjson`);
    fs.writeFileSync(
      input,
      [
        '{"time":"2026-11-30T10:00:00Z","device_id":"door-1","metric":"state","value":"open"}',
        '{"time":"2026-11-30T10:05:00Z","device_id":"door-1","metric":"state","value":"closed"}',
        '{"time":"2026-11-30T10:06:00Z","device_id":"pump-1","metric":"status","value":true}',
        '{"time":"2026-11-30T10:00:00Z","device_id":"door-1","metric":"temp","value":20.5}',
      ].join('\n') + '\n',
    );
    const ing = await runCli(['ingest', '--db', t.spec, input, '--json']);
    expect(ing.code, ing.stderr).toBe(0);
    const all = await runCli(['export', '--db', t.spec]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(all.stderr).toContain(
      'export writes readings only: 3 events of 2 series in the selection are not in it',
    );
    const door = await runCli([
      'export',
      '--db',
      t.spec,
      '--device',
      'door-1',
      '--since',
      '2026-11-30T10:01Z',
    ]);
    expect(door.stderr).toContain('1 event of 1 series');
    const readingsOnly = await runCli(['export', '--db', t.spec, '--metric', 'temp']);
    expect(readingsOnly.stderr).not.toContain('events');
  });
});
