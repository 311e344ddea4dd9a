// `iotctl ingest` against real databases (embedded TimescaleDB and the test PostgreSQL server): every
// input shape, the committed fixtures of the four public sample data sets, malformed input, conflicts, limits.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest, type IngestSummary } from '../../src/ingest/run.js';
import { init, parseRollups } from '../../src/maintenance/init.js';
import { loadStore } from '../../src/db/store.js';
import { dropPartition } from '../../src/db/sql/maintenance.js';
import { partitionName } from '../../src/db/sql/partitions.js';
import type { Db } from '../../src/db/types.js';
import { IotctlError } from '../../src/errors.js';
import { Loader, type LoaderOptions } from '../../src/ingest/loader.js';
import { parseDuration } from '../../src/util/duration.js';
import { ingestOptions } from '../helpers/ingest.js';
import { engineOf, makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';

const FIX = path.resolve(import.meta.dirname, '../../fixtures/ingest');
const fx = (name: string) => path.join(FIX, name);

const options = ingestOptions;

const accounted = (s: IngestSummary) => expect(s.loaded + s.rejected + s.duplicates + s.nulls).toBe(s.read);

describe.each(targetKinds)('ingest on the %s target', (kind) => {
  let target: TestTarget;
  let db: Db;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-ingest-'));

  beforeAll(async () => {
    target = await makeTarget(kind);
    db = await target.open();
    await init(db, {
      chunkInterval: parseDuration('1d'),
      rollups: parseRollups('1h'),
      dryRun: false,
      plain: false,
      explicit: { chunkInterval: false, rollups: false },
    });
  });
  afterAll(async () => {
    await db?.close();
    await target?.cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const count = async (device?: string) => {
    const { rows } = await db.query<{ n: number }>(
      device
        ? 'SELECT count(*)::int AS n FROM iotctl.readings WHERE device_id = $1'
        : 'SELECT count(*)::int AS n FROM iotctl.points',
      device ? [device] : [],
    );
    return rows[0]!.n;
  };
  const values = async (device: string) => {
    const { rows } = await db.query<{ time: Date; metric: string; value: number; unit: string | null }>(
      'SELECT time, metric, value, unit FROM iotctl.readings WHERE device_id = $1 ORDER BY metric, time',
      [device],
    );
    return rows.map((r) => [new Date(r.time).toISOString(), r.metric, r.value, r.unit]);
  };

  it('loads a long CSV with ISO, offset and epoch times; the JSON summary has its pinned shape', async () => {
    const s = await ingest(db, options([fx('long.csv')]));
    expect(Object.keys(s).sort()).toEqual(
      [
        'batches',
        'dryRun',
        'duplicates',
        'events',
        'files',
        'loaded',
        'nulls',
        'read',
        'rejected',
        'rejects',
        'rejectsFile',
        'retries',
        'rowsPerSecond',
        'seconds',
        'stopped',
        'updated',
      ].sort(),
    );
    expect(s).toMatchObject({
      read: 8,
      loaded: 8,
      rejected: 0,
      duplicates: 0,
      nulls: 0,
      updated: 0,
      rejects: {},
      stopped: null,
      files: [fx('long.csv')],
    });
    expect(await values('boiler-2')).toEqual([
      ['2024-03-01T10:01:00.000Z', 'temperature', 58.25, 'C'],
      ['2024-03-01T10:02:00.000Z', 'temperature', 58.5, 'C'],
      ['2024-03-01T10:03:00.000Z', 'temperature', 58.75, 'C'],
      ['2024-03-01T10:04:00.123Z', 'temperature', 59, 'C'],
    ]);
    const { rows } = await db.query<{ us: string }>(
      "SELECT to_char(time AT TIME ZONE 'UTC', 'US') AS us FROM iotctl.readings WHERE device_id = 'boiler-2' ORDER BY time DESC LIMIT 1",
    );
    expect(rows[0]!.us).toBe('123456');
  });

  it('ingesting the same file twice loads 0 new readings and leaves the count unchanged', async () => {
    const before = await count();
    const s = await ingest(db, options([fx('long.csv')]));
    expect(s).toMatchObject({ read: 8, loaded: 0, duplicates: 8, rejected: 0 });
    expect(await count()).toBe(before);
  });

  it('loads a wide CSV: device from the station column, text columns as events, NA and empty cells skipped', async () => {
    const s = await ingest(db, options([fx('wide.csv')]));
    expect(s).toMatchObject({ read: 12, loaded: 10, events: 4, nulls: 2, rejected: 0 });
    accounted(s);
    expect(await values('roof')).toEqual([
      ['2024-03-01T10:00:00.000Z', 'rh', 80, null],
      ['2024-03-01T10:20:00.000Z', 'rh', 82, null],
      ['2024-03-01T10:00:00.000Z', 'temp', 5.5, null],
      ['2024-03-01T10:10:00.000Z', 'temp', 5.75, null],
    ]);
  });

  it('loads NDJSON: long objects with aliases, decimal commas, nested wide objects', async () => {
    const s = await ingest(db, options([fx('readings.ndjson')]));
    expect(s).toMatchObject({ read: 5, loaded: 4, nulls: 1, rejected: 0 });
    expect(await values('pump-7')).toEqual([
      ['2024-03-01T10:00:00.000Z', 'flow', 3.5, 'l/s'],
      ['2024-03-01T10:01:00.000Z', 'flow', 3.75, 'l/s'],
    ]);
    expect((await values('pump-8')).map((r) => r[1])).toEqual(['sensors.flow', 'sensors.temp']);
  });

  it('loads Telegraf JSON: one reading per field, host tag as device, other tags kept', async () => {
    const s = await ingest(db, options([fx('telegraf.ndjson')]));
    expect(s).toMatchObject({ read: 6, loaded: 6, rejected: 0 });
    const { rows } = await db.query<{ metric: string; tags: unknown }>(
      "SELECT metric, tags FROM iotctl.series WHERE device_id = 'gw-1' ORDER BY metric",
    );
    expect(rows.map((r) => r.metric)).toEqual([
      'cpu.usage_idle',
      'cpu.usage_user',
      'mem.available',
      'mem.used_percent',
    ]);
    expect(rows[0]!.tags).toEqual({ cpu: 'cpu-total' });
    expect(await values('gw-1')).toContainEqual(['2024-03-01T10:01:00.000Z', 'cpu.usage_user', 2.5, null]);
  });

  it('detects gzip by its magic bytes whatever the name, and reads stdin', async () => {
    const csv = 'time,device_id,metric,value\n2024-03-02T00:00:00Z,gz-1,t,1\n2024-03-02T00:01:00Z,gz-1,t,2\n';
    const gz = path.join(tmp, 'plain-name.csv');
    fs.writeFileSync(gz, gzipSync(csv));
    expect(await ingest(db, options([gz]))).toMatchObject({ read: 2, loaded: 2 });
    const stdin = Readable.from([gzipSync(csv.replace(/gz-1/g, 'stdin-1'))]);
    expect(await ingest(db, options(['-'], { stdin }))).toMatchObject({ read: 2, loaded: 2, files: ['-'] });
    expect(await count('stdin-1')).toBe(2);
  });

  it('--columns names the columns of a CSV without a header line', async () => {
    const stdin = Readable.from([
      Buffer.from('2024-03-06T00:00:00Z;hl-1;t;1\n2024-03-06T00:01:00Z;hl-1;t;2\n'),
    ]);
    const s = await ingest(
      db,
      options(['-'], { stdin, columns: ['time', 'device_id', 'metric', 'value'], delimiter: ';' }),
    );
    expect(s).toMatchObject({ read: 2, loaded: 2 });
    expect(await count('hl-1')).toBe(2);
  });

  it('malformed file: every good row loaded, every bad one in the rejects file with its line number', async () => {
    const rejectsPath = path.join(tmp, 'rejects.ndjson');
    const s = await ingest(db, options([fx('malformed.csv')], { rejectsPath }));
    accounted(s);
    expect(s).toMatchObject({
      read: 15,
      loaded: 3,
      rejected: 12,
      duplicates: 0,
      nulls: 0,
      rejectsFile: rejectsPath,
    });
    expect(s.rejects).toEqual({
      bad_time: 2,
      bad_value: 1,
      field_count: 2,
      not_finite: 3,
      future_time: 1,
      invalid_utf8: 1,
      missing_field: 1,
      csv_syntax: 1,
    });
    const lines = fs
      .readFileSync(rejectsPath, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.line, l.reason])).toEqual([
      [3, 'bad_time'],
      [4, 'bad_value'],
      [5, 'field_count'],
      [6, 'not_finite'],
      [7, 'not_finite'],
      [9, 'not_finite'],
      [10, 'future_time'],
      [11, 'invalid_utf8'],
      [14, 'field_count'],
      [15, 'bad_time'],
      [16, 'missing_field'],
      [18, 'csv_syntax'],
    ]);
    expect(lines[0]).toEqual({
      file: fx('malformed.csv'),
      line: 3,
      reason: 'bad_time',
      detail: "cannot read time 'yesterday'",
      raw: 'yesterday,probe-1,temp,20.6',
    });
    expect(await values('probe-1')).toEqual([
      ['2024-03-01T10:00:00.000Z', 'temp', 20.5, null],
      ['2024-03-01T10:09:00.000Z', 'temp', 21.75, null],
      ['2024-03-01T10:13:00.000Z', 'temp', 23.5, null],
    ]);
  });

  it('tells the caller about the first rejects and how a file is read through onNotice, printing nothing', async () => {
    const notices: Array<[string, string]> = [];
    const s = await ingest(
      db,
      options([fx('malformed.csv')], { dryRun: true, onNotice: (m, level) => void notices.push([level, m]) }),
    );
    expect(s.rejected).toBe(12);
    expect(notices.filter(([level]) => level === 'warning')).toHaveLength(5);
    expect(notices[0]).toEqual([
      'detail',
      `${fx('malformed.csv')}: long format: time=time, device=device_id, metric=metric, value=value`,
    ]);
    expect(notices[1]).toEqual([
      'warning',
      `${fx('malformed.csv')}:3: bad_time: cannot read time 'yesterday'`,
    ]);
  });

  it('without --rejects, a wide file rejecting every row shows its first five rejects, not one (they were counted in readings)', async () => {
    const notices: string[] = [];
    // The UCI file read without --time: its "Time" column alone is no time, so every row is rejected, each
    // as 14 values (13 metrics and the Date column, text: events).
    const s = await ingest(
      db,
      options(
        [fx('uci-air-quality.csv')],
        { dryRun: true, onNotice: (m, level) => void (level === 'warning' && notices.push(m)) },
        {
          device: 'uci',
          nulls: ['-200'],
        },
      ),
    );
    accounted(s);
    expect(s).toMatchObject({ read: 13 * 14, rejected: 13 * 14, rejects: { bad_time: 13 * 14 } });
    const shown = notices.filter((m) => m.includes(': bad_time: '));
    expect(shown).toEqual(
      [2, 3, 4, 5, 6].map(
        (line) => `${fx('uci-air-quality.csv')}:${line}: bad_time: cannot read time '${line + 16}.00.00'`,
      ),
    );
  });

  it('every row rejected as bad_time: says which column it took as the time and suggests --time / --time-format with a value from the file', async () => {
    const notices: string[] = [];
    const onNotice = (m: string, level: string) => void (level === 'warning' && notices.push(m));
    await ingest(db, options([fx('uci-air-quality.csv')], { dryRun: true, onNotice }, { device: 'uci' }));
    expect(notices.at(-1)).toBe(
      `${fx('uci-air-quality.csv')}: every row was rejected as bad_time, its time read from column "Time" (e.g. '18.00.00'): ` +
        `name the time column with --time COLUMN (several: --time Date,Time), or give its pattern with --time-format PATTERN (e.g. 'DD/MM/YYYY HH:mm:ss')`,
    );
    // A day-first date: the suggested pattern is one that reads it.
    const file = path.join(tmp, 'day-first.csv');
    fs.writeFileSync(file, 'time,t,rh\n10/03/2004 18:00,1,2\n13/03/2004 9:30,1,2\n');
    notices.length = 0;
    const bad = await ingest(db, options([file], { dryRun: true, onNotice }, { device: 'df' }));
    expect(bad).toMatchObject({ read: 4, rejected: 4 });
    expect(notices.at(-1)).toBe(
      `${file}: every row was rejected as bad_time, its time read from column "time" (e.g. '10/03/2004 18:00'): ` +
        `name the time column with --time COLUMN (several: --time Date,Time), or give its pattern with --time-format 'D/M/YYYY H:mm'`,
    );
    const good = await ingest(
      db,
      options([file], { dryRun: true }, { device: 'df', time: { tz: 'UTC', format: 'D/M/YYYY H:mm' } }),
    );
    expect(good).toMatchObject({ read: 4, loaded: 4, rejected: 0 });
    // Some rows readable: no such message.
    notices.length = 0;
    fs.writeFileSync(file, 'time,t\n2004-03-10T18:00Z,1\nyesterday,2\n');
    await ingest(db, options([file], { dryRun: true, onNotice }, { device: 'df' }));
    expect(notices.filter((m) => m.includes('every row'))).toEqual([]);
  });

  it('a CSV without a header line: the error points at --columns, not at --time', async () => {
    const file = path.join(tmp, 'no-header.csv');
    fs.writeFileSync(file, '2026-11-01T00:00:00Z,21.5\n2026-11-01T00:01:00Z,21.6\n');
    const err = await ingest(db, options([file], { dryRun: true }, { device: 'nh' })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(IotctlError);
    expect(err).toMatchObject({
      exitCode: 2,
      message: `${file}: the first line looks like data, not a header ("2026-11-01T00:00:00Z", "21.5")`,
      hint: 'name the 2 columns of a file without a header line with --columns, e.g. --columns time,value --device NAME --metric NAME',
    });
    // The hint's own suggestion reads it.
    const s = await ingest(
      db,
      options([file], { columns: ['time', 'value'] }, { device: 'nh', metric: 'temp' }),
    );
    expect(s).toMatchObject({ read: 2, loaded: 2 });
    expect((await values('nh')).map((v) => v[1])).toEqual(['temp', 'temp']);
  });

  it('--metric names the one value column of a timestamp,value file (it was the column name); --unit per metric and constant --tag for a wide file', async () => {
    const single = path.join(tmp, 'single.csv');
    fs.writeFileSync(single, 'timestamp,value\n2026-11-01T00:00:00Z,21.5\n2026-11-01T00:01:00Z,\n');
    const s = await ingest(
      db,
      options(
        [single],
        {},
        { device: 'probe-7', metric: 'temperature', units: { byMetric: new Map(), all: '°C' } },
      ),
    );
    expect(s).toMatchObject({ read: 2, loaded: 1, nulls: 1 });
    accounted(s);
    const wide = path.join(tmp, 'wide-units.csv');
    fs.writeFileSync(wide, 'time,temperature,rh\n2026-11-01T00:00:00Z,21.5,40\n');
    const w = await ingest(
      db,
      options(
        [wide],
        {},
        {
          device: 'room-9',
          units: {
            byMetric: new Map([
              ['temperature', '°C'],
              ['rh', '%'],
            ]),
          },
          tags: { site: 'plant-2', line: '3' },
        },
      ),
    );
    accounted(w);
    const { rows } = await db.query<{ device_id: string; metric: string; unit: string; tags: unknown }>(
      `SELECT device_id, metric, unit, tags FROM iotctl.series WHERE device_id IN ('probe-7', 'room-9') ORDER BY 1, 2`,
    );
    expect(rows).toEqual([
      { device_id: 'probe-7', metric: 'temperature', unit: '°C', tags: null },
      { device_id: 'room-9', metric: 'rh', unit: '%', tags: { site: 'plant-2', line: '3' } },
      { device_id: 'room-9', metric: 'temperature', unit: '°C', tags: { site: 'plant-2', line: '3' } },
    ]);
    // Long files: --unit fills in where the unit column is empty; --tag adds to the tags the file gives.
    const long = path.join(tmp, 'long-tags.csv');
    fs.writeFileSync(
      long,
      'time,device_id,metric,value,unit,tags\n2026-11-01T00:00:00Z,lt-1,t,1,K,"{""site"":""own""}"\n2026-11-01T00:00:00Z,lt-1,p,2,,\n',
    );
    await ingest(
      db,
      options(
        [long],
        {},
        {
          units: {
            byMetric: new Map([
              ['t', 'C'],
              ['p', 'hPa'],
            ]),
          },
          tags: { site: 'x', zone: 'a' },
        },
      ),
    );
    const lt = await db.query<{ metric: string; unit: string; tags: unknown }>(
      `SELECT metric, unit, tags FROM iotctl.series WHERE device_id = 'lt-1' ORDER BY metric`,
    );
    expect(lt.rows).toEqual([
      { metric: 'p', unit: 'hPa', tags: { site: 'x', zone: 'a' } },
      { metric: 't', unit: 'K', tags: { site: 'own', zone: 'a' } },
    ]);
  });

  it('--metric with a metric column, or with several value columns, and --unit for a metric the file lacks: usage errors naming them', async () => {
    const fail = (file: string, mapping: Parameters<typeof options>[2]) =>
      ingest(db, options([file], { dryRun: true }, mapping)).catch((e: unknown) => e as IotctlError);
    expect(await fail(fx('long.csv'), { metric: 'x' })).toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/--metric x: the file has a metric column \("metric"\)$/),
    });
    const wide = path.join(tmp, 'two-values.csv');
    fs.writeFileSync(wide, 'time,temperature,rh\n2026-11-01T00:00:00Z,21.5,40\n');
    expect(await fail(wide, { device: 'd', metric: 'x' })).toMatchObject({
      message: `${wide}: --metric x names one value column, and the file has 2 ("temperature", "rh")`,
      hint: expect.stringMatching(/--metrics COLUMN/),
    });
    expect(await fail(wide, { device: 'd', metrics: ['rh'], metric: 'humidity' })).toMatchObject({
      read: 1,
      loaded: 1,
    });
    expect(await fail(wide, { device: 'd', units: { byMetric: new Map([['temp', 'C']]) } })).toMatchObject({
      message: `${wide}: --unit temp=…: no metric 'temp' in this file`,
      hint: 'its metrics are "temperature", "rh"',
    });
  });

  it('keeps the last of duplicate readings inside one batch and counts the others', async () => {
    const file = path.join(tmp, 'dups.csv');
    fs.writeFileSync(
      file,
      'time,device_id,metric,value\n2024-03-03T00:00:00Z,dup-1,t,1\n2024-03-03T00:00:00Z,dup-1,t,2\n2024-03-03T00:00:00Z,dup-1,t,3\n',
    );
    const s = await ingest(db, options([file]));
    expect(s).toMatchObject({ read: 3, loaded: 1, duplicates: 2 });
    expect(await values('dup-1')).toEqual([['2024-03-03T00:00:00.000Z', 't', 3, null]]);
  });

  it('--on-conflict update overwrites changed values; error stops with the batch rolled back', async () => {
    const file = path.join(tmp, 'changed.csv');
    fs.writeFileSync(
      file,
      'time,device_id,metric,value\n2024-03-01T10:00:00Z,boiler-1,temperature,99\n2024-03-01T10:01:00Z,boiler-1,temperature,61.7\n2024-03-01T12:00:00Z,boiler-1,temperature,70\n',
    );
    const s = await ingest(db, options([file], { onConflict: 'update' }));
    expect(s).toMatchObject({ read: 3, loaded: 2, updated: 1, duplicates: 1 });
    accounted(s);
    expect((await values('boiler-1')).filter((r) => r[1] === 'temperature').map((r) => r[2])).toEqual([
      99, 61.7, 70,
    ]);
    const before = await count();
    const fresh = path.join(tmp, 'mixed.csv');
    fs.writeFileSync(
      fresh,
      'time,device_id,metric,value\n2024-03-01T13:00:00Z,boiler-1,temperature,1\n2024-03-01T10:00:00Z,boiler-1,temperature,2\n',
    );
    const err = await ingest(db, options([fresh], { onConflict: 'error' })).catch((e) => e);
    expect(err).toBeInstanceOf(IotctlError);
    expect(err.message).toMatch(/--on-conflict error: a reading is already stored/);
    expect(await count()).toBe(before);
  });

  it('a fatal error (a bad header in the second file) still reports what was committed', async () => {
    const good = path.join(tmp, 'fatal-1.csv');
    const bad = path.join(tmp, 'fatal-2.csv');
    fs.writeFileSync(good, 'time,device_id,metric,value\n2024-03-06T00:00:00Z,fatal-1,t,1\n');
    fs.writeFileSync(bad, 'when,what\n1,2\n');
    const partials: IngestSummary[] = [];
    const err = await ingest(
      db,
      options([good, bad], { batchSize: 1, onFatal: (p) => void partials.push(p) }),
    ).catch((e) => e);
    expect(err).toBeInstanceOf(IotctlError);
    expect(err.message).toMatch(/fatal-2\.csv: no time column/);
    expect(partials).toHaveLength(1);
    expect(partials[0]).toMatchObject({ stopped: 'error', read: 1, loaded: 1 });
    expect(await count('fatal-1')).toBe(1);
  });

  it('a wide row the CSV parser cannot read is rejected as one reading per metric column', async () => {
    const file = path.join(tmp, 'wide-syntax.csv');
    fs.writeFileSync(
      file,
      'time,device,a,b,c\n2024-03-07T00:00:00Z,w1,1,2,3\n2024-03-07T00:01:00Z,"w1,1,2,3\n',
    );
    const s = await ingest(db, options([file], { dryRun: true }));
    expect(s).toMatchObject({ read: 6, loaded: 3, rejected: 3, rejects: { csv_syntax: 3 } });
    accounted(s);
  });

  it.runIf(kind !== 'embedded')(
    'a signal during a retry wait ends the load at once as interrupted, the batch rolled back',
    async () => {
      // A real transient error (40001) on every write, so the batch retries until --retry-timeout. On Citus a
      // trigger on points runs on the workers and its SQLSTATE reaches the coordinator as XX000: the error is
      // raised from the coordinator's meta instead, which ingest writes in every batch (its dirty mark).
      const citus = engineOf(kind) === 'citus';
      const on = citus ? 'iotctl.meta FOR EACH STATEMENT' : 'iotctl.points FOR EACH ROW';
      await db.exec(
        "CREATE FUNCTION test_fail_40001() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'simulated' USING ERRCODE = '40001'; END $$",
      );
      await db.exec(`CREATE TRIGGER fail_40001 BEFORE INSERT ON ${on} EXECUTE FUNCTION test_fail_40001()`);
      try {
        const file = path.join(tmp, 'retried.csv');
        fs.writeFileSync(file, 'time,device_id,metric,value\n2024-03-01T15:00:00Z,retry-1,t,1\n');
        const ac = new AbortController();
        const run = ingest(db, options([file], { retryTimeoutMs: 60_000, signal: ac.signal }));
        await new Promise((r) => setTimeout(r, 1000));
        const aborted = Date.now();
        ac.abort();
        const s = await run;
        expect(Date.now() - aborted).toBeLessThan(2000);
        expect(s).toMatchObject({ stopped: 'interrupted', read: 1, loaded: 0 });
        expect(s.retries).toBeGreaterThan(0);
        expect(await count('retry-1')).toBe(0);
      } finally {
        await db.exec(`DROP TRIGGER fail_40001 ON ${on.split(' ')[0]}`);
        await db.exec('DROP FUNCTION test_fail_40001()');
      }
    },
  );

  it('a batch failing with an error the loader does not classify ends the load with that error (exit 8), not an unhandled rejection', async () => {
    // Every new series is refused: a constraint only the database knows (Citus reports it as XX000).
    const { rows } = await db.query<{ n: number }>(
      'SELECT coalesce(max(id), 0)::int AS n FROM iotctl.series',
    );
    await db.exec(
      `ALTER TABLE iotctl.points ADD CONSTRAINT test_known_series CHECK (series_id <= ${rows[0]!.n})`,
    );
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      // 11 metrics a row fill each 10-reading batch part-way through a row: the row's next reading is handed
      // the loader's chain, and the full batch's own promise is dropped.
      const err = await ingest(
        db,
        options([fx('ampds2-electricity.csv')], { batchSize: 10, workers: 1 }, { device: 'unclassified-1' }),
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IotctlError);
      expect((err as IotctlError).exitCode).toBe(8);
      expect((err as IotctlError).message).toMatch(/^database error \w+: .*test_known_series/);
      await new Promise((r) => setTimeout(r, 100));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await db.exec('ALTER TABLE iotctl.points DROP CONSTRAINT test_known_series');
    }
  });

  it('--max-errors stops reading and keeps what was committed', async () => {
    const file = path.join(tmp, 'many-bad.csv');
    const rows = ['time,device_id,metric,value'];
    for (let i = 0; i < 10; i++) rows.push(`2024-03-04T00:0${i}:00Z,limit-1,t,${i < 3 ? i : 'bad'}`);
    fs.writeFileSync(file, rows.join('\n') + '\n');
    const s = await ingest(db, options([file], { maxErrors: { count: 2 } }));
    expect(s).toMatchObject({ stopped: 'max_errors', read: 6, loaded: 3, rejected: 3 });
    expect(await count('limit-1')).toBe(3);
  });

  it('--range rejects values outside the range; --dry-run writes nothing', async () => {
    const before = await count();
    const s = await ingest(
      db,
      options(
        [fx('ampds2-electricity.csv')],
        { dryRun: true },
        { device: 'dry', ranges: new Map([['V', { min: 119, max: 200 }]]) },
      ),
    );
    expect(s).toMatchObject({
      dryRun: true,
      read: 110,
      rejected: 7,
      loaded: 103,
      rejects: { out_of_range: 7 },
    });
    expect(await count()).toBe(before);
  });

  it('flushes a slow stdin every --flush-interval and stops cleanly on a signal', async () => {
    const stdin = new PassThrough();
    const ac = new AbortController();
    const run = ingest(db, options(['-'], { stdin, flushIntervalMs: 200, signal: ac.signal }));
    stdin.write(
      'time,device_id,metric,value\n2024-03-05T00:00:00Z,slow-1,t,1\n2024-03-05T00:01:00Z,slow-1,t,2\n',
    );
    let seen = 0;
    for (let i = 0; i < 50 && seen < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      seen = await count('slow-1');
    }
    expect(seen).toBe(2);
    stdin.write('2024-03-05T00:02:00Z,slow-1,t,3\n');
    await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    const s = await run;
    expect(s).toMatchObject({ stopped: 'interrupted', read: 3, loaded: 3 });
    expect(await count('slow-1')).toBe(3);
  });

  const loaderOptions = (over: Partial<LoaderOptions> = {}): LoaderOptions => ({
    batchSize: 10_000,
    flushIntervalMs: 50,
    workers: 1,
    onConflict: 'skip',
    retryTimeoutMs: 1000,
    ...over,
  });

  // Regression: a plain-mode retention run (cron's maintain) dropping a partition this ingest had created
  // failed the next batch for it with 23514 "no partition of relation points found for row" and ended the load.
  it.runIf(engineOf(kind) === 'plain')(
    'plain mode: a partition dropped by retention during an ingest is created again; the load goes on',
    async () => {
      const store = await loadStore(db);
      const partitions = store.engine.rowPlacer(db, store)!;
      const loader = new Loader(db, loaderOptions({ batchSize: 1, partitions }));
      const day = Date.parse('2023-06-01T00:00:00Z');
      await loader.add('retention-race', 'temp', (day + 3_600_000) * 1000, 1, null, null);
      for (let i = 0; i < 200 && loader.counts.loaded < 1; i++) await new Promise((r) => setTimeout(r, 25));
      expect(loader.counts.loaded).toBe(1);
      // What retention does to that day (only that partition: other tests' readings stay).
      await db.query(dropPartition(`iotctl.${partitionName(day)}`));
      await loader.add('retention-race', 'temp', (day + 7_200_000) * 1000, 2, null, null);
      await loader.finish();
      expect(loader.counts.loaded).toBe(2);
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM iotctl.readings WHERE device_id = 'retention-race'`,
      );
      expect(rows[0]!.n).toBe(1);
    },
  );

  it('a failed timer flush surfaces through finish(), not as an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      const loader = new Loader(db, loaderOptions());
      // PostgreSQL refuses NUL in text: the series upsert of the timer-flushed batch fails.
      loader.add('nul\0device', 'm', Date.parse('2024-03-01T10:00:00Z') * 1000, 1, null, null);
      await new Promise((r) => setTimeout(r, 500));
      expect(unhandled).toEqual([]);
      await expect(loader.finish()).rejects.toThrow();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it.runIf(kind !== 'embedded')(
    'batches flushed by the timer hold the reader back while the database is slow',
    async () => {
      let release = () => undefined as void;
      const gate = new Promise<void>((r) => (release = r));
      let locked = () => undefined as void;
      const isLocked = new Promise<void>((r) => (locked = r));
      // Plain mode needs the partition first; a hypertable makes its own chunks.
      const store = await loadStore(db);
      const partitions = store.engine.rowPlacer(db, store) ?? undefined;
      await partitions?.ensureFor([Date.parse('2024-03-01T00:00:00Z')]);
      const loader = new Loader(db, loaderOptions({ flushIntervalMs: 30, partitions }));
      const holder = db.transaction(async (tx) => {
        await tx.query('LOCK TABLE iotctl.points IN ACCESS EXCLUSIVE MODE');
        locked();
        await gate;
      });
      await isLocked;
      const t0 = Date.parse('2024-03-01T11:00:00Z') * 1000;
      let added = 0;
      let waiting: Promise<void> | undefined;
      // One batch is in flight (blocked) and the next waits for a worker: add() must then hold the
      // reader back until the database catches up, however long that takes.
      let heldBack = false;
      try {
        for (; added < 60 && !heldBack;) {
          waiting = loader.add('slow-db', 'm', t0 + added * 1e6, added, null, null);
          added++;
          if (waiting) {
            const settled = await Promise.race([
              waiting.then(() => 'settled'),
              new Promise((r) => setTimeout(() => r('pending'), 300)),
            ]);
            heldBack = settled === 'pending';
          } else await new Promise((r) => setTimeout(r, 25));
        }
        expect(heldBack).toBe(true);
      } finally {
        release();
        await holder;
      }
      await waiting;
      await loader.finish();
      expect(loader.counts.loaded).toBe(added);
      expect(await count('slow-db')).toBe(added);
    },
  );

  it.runIf(engineOf(kind) === 'timescaledb')(
    'TimescaleDB: loads into compressed chunks without duplicating stored readings',
    async () => {
      await db.query(
        "SELECT compress_chunk(c, if_not_compressed => true) FROM show_chunks('iotctl.points') c",
      );
      const { rows } = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM timescaledb_information.chunks WHERE hypertable_name = 'points' AND is_compressed",
      );
      expect(rows[0]!.n).toBeGreaterThan(0);
      const before = await count();
      expect(await ingest(db, options([fx('long.csv')]))).toMatchObject({
        read: 8,
        loaded: 0,
        duplicates: 8,
      });
      const file = path.join(tmp, 'into-compressed.csv');
      fs.writeFileSync(
        file,
        'time,device_id,metric,value\n2024-03-01T10:00:00Z,boiler-1,pressure,5\n2024-03-01T10:30:00Z,boiler-1,pressure,6\n',
      );
      expect(await ingest(db, options([file], { onConflict: 'update' }))).toMatchObject({
        read: 2,
        loaded: 2,
        updated: 1,
      });
      expect(await count()).toBe(before + 1);
      expect((await values('boiler-1')).filter((r) => r[1] === 'pressure').map((r) => r[2])).toEqual([
        5, 1.9, 6,
      ]);
    },
  );

  it('years 0000-0099 are stored as given, not as 1900-1999; year 0 is rejected (ISO, --time-format, columns)', async () => {
    const stored = async (device: string) => {
      const { rows } = await db.query<{ t: string }>(
        `SELECT to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS t FROM iotctl.readings WHERE device_id = $1 ORDER BY time`,
        [device],
      );
      return rows.map((r) => r.t);
    };
    const years = ['0000', '0001', '0050', '0099', '0100', '9999'];
    const want = [
      '0001-06-01 12:00',
      '0050-06-01 12:00',
      '0099-06-01 12:00',
      '0100-06-01 12:00',
      '9999-06-01 12:00',
    ];
    const far = { maxFutureMs: 1e15 };
    const iso = path.join(tmp, 'years-iso.csv');
    fs.writeFileSync(
      iso,
      ['time,device,metric,value', ...years.map((y) => `${y}-06-01T12:00:00Z,yr-iso,t,1`)].join('\n'),
    );
    const a = await ingest(db, options([iso], {}, far));
    expect(a).toMatchObject({ read: 6, loaded: 5, rejects: { bad_time: 1 } });
    expect(await stored('yr-iso')).toEqual(want);
    const fmt = path.join(tmp, 'years-format.csv');
    fs.writeFileSync(
      fmt,
      ['time,device,metric,value', ...years.map((y) => `01/06/${y} 12.00,yr-fmt,t,1`)].join('\n'),
    );
    const b = await ingest(
      db,
      options([fmt], {}, { ...far, time: { tz: 'UTC', format: 'DD/MM/YYYY HH.mm' } }),
    );
    expect(b).toMatchObject({ read: 6, loaded: 5, rejects: { bad_time: 1 } });
    expect(await stored('yr-fmt')).toEqual(want);
    const cols = path.join(tmp, 'years-columns.csv');
    fs.writeFileSync(
      cols,
      ['year,month,day,hour,device,t', ...years.map((y) => `${y},6,1,12,yr-col,1`)].join('\n'),
    );
    const c = await ingest(db, options([cols], {}, far));
    expect(c).toMatchObject({ read: 6, loaded: 5, rejects: { bad_time: 1 } });
    expect(await stored('yr-col')).toEqual(want);
  });
  it('a device id, metric, unit or tags too long for the series index is rejected too_long; the rest of its batch loads', async () => {
    const file = path.join(tmp, 'too-long.csv');
    const t = (m: number) => `2024-03-08T00:0${m}:00Z`;
    const x = (n: number) => 'x'.repeat(n);
    fs.writeFileSync(
      file,
      [
        'time,device_id,metric,value,unit,tags',
        `${t(0)},long-1,t,1,,`,
        `${t(1)},${x(3000)},t,2,,`,
        `${t(2)},long-1,${x(3000)},3,,`,
        `${t(3)},long-1,u,4,${x(300)},`,
        `${t(4)},long-1,g,5,,"${JSON.stringify({ k: x(70_000) }).replace(/"/g, '""')}"`,
        `${t(5)},long-1,s,6,,"{""k"":""\\ud800""}"`,
        `${t(6)},long-1,t,7,,`,
      ].join('\n') + '\n',
    );
    const rejectsPath = path.join(tmp, 'too-long.rejects.ndjson');
    const s = await ingest(db, options([file], { rejectsPath }));
    accounted(s);
    expect(s).toMatchObject({ read: 7, loaded: 2, rejected: 5, rejects: { too_long: 4, invalid_utf8: 1 } });
    expect(await values('long-1')).toEqual([
      ['2024-03-08T00:00:00.000Z', 't', 1, null],
      ['2024-03-08T00:06:00.000Z', 't', 7, null],
    ]);
    const lines = fs
      .readFileSync(rejectsPath, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.line, l.reason, l.detail])).toEqual([
      [3, 'too_long', 't: the device id is 3000 bytes long (at most 1024)'],
      [4, 'too_long', `${x(40)}…: the metric is 3000 bytes long (at most 1024)`],
      [5, 'too_long', 'u: the unit is 300 bytes long (at most 256)'],
      [6, 'too_long', 'g: the tags are 70008 bytes long (at most 65536)'],
      [7, 'invalid_utf8', 's: the tags are not valid Unicode (a lone surrogate)'],
    ]);
    // NDJSON: a lone surrogate escape in a device id, and an object nested too deep for the stack.
    const nd = path.join(tmp, 'too-long.ndjson');
    const deep = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
    fs.writeFileSync(
      nd,
      [
        '{"time":"2024-03-08T01:00:00Z","device":"long-2","metric":"t","value":1}',
        '{"time":"2024-03-08T01:01:00Z","device":"long-\\udfff","metric":"t","value":2}',
        `{"time":"2024-03-08T01:02:00Z","device":"long-2","x":${deep}}`,
        `{"time":"2024-03-08T01:03:00Z","device":"${x(2000)}","metric":"t","value":3}`,
        '{"time":"2024-03-08T01:04:00Z","device":"long-2","metric":"t","value":4}',
      ].join('\n'),
    );
    const n = await ingest(db, options([nd]));
    expect(n).toMatchObject({ read: 5, loaded: 2, rejects: { invalid_utf8: 1, bad_json: 1, too_long: 1 } });
    expect((await values('long-2')).map((r) => r[2])).toEqual([1, 4]);
  });
  it('the rejects line of a row that is not valid UTF-8 keeps its bytes (rawBase64 beside raw)', async () => {
    const rejectsPath = path.join(tmp, 'utf8.rejects.ndjson');
    await ingest(db, options([fx('malformed.csv')], { rejectsPath, dryRun: true }));
    const lines = fs
      .readFileSync(rejectsPath, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const bad = lines.find((l) => l.reason === 'invalid_utf8');
    const original = fs.readFileSync(fx('malformed.csv')).subarray(0).toString('latin1').split('\n')[10]!;
    expect(bad).toEqual({
      file: fx('malformed.csv'),
      line: 11,
      reason: 'invalid_utf8',
      detail: 'the line is not valid UTF-8',
      raw: '2024-03-01T10:08:00Z,probe-\uFFFD1,temp,21.5',
      rawBase64: Buffer.from(original, 'latin1').toString('base64'),
    });
    expect(Buffer.from(bad.rawBase64, 'base64').includes(0xff)).toBe(true);
    expect(lines.filter((l) => 'rawBase64' in l)).toHaveLength(1);
  });
  it('a rejects file that cannot be opened fails before any input is read, naming its path', async () => {
    const file = path.join(tmp, 'rejects-unopenable.csv');
    fs.writeFileSync(
      file,
      'time,device_id,metric,value\n2024-03-09T02:00:00Z,ro-1,t,1\n2024-03-09T02:01:00Z,ro-1,t,x\n',
    );
    for (const [rejectsPath, why] of [
      [path.join(tmp, 'no', 'such', 'dir', 'r.ndjson'), 'no such directory'],
      [tmp, 'it is a directory'],
    ] as const) {
      const err = await ingest(db, options([file], { rejectsPath })).catch((e) => e);
      expect(err).toBeInstanceOf(IotctlError);
      expect(err.exitCode).toBe(2);
      expect(err.message).toBe(`cannot write the rejects file ${rejectsPath}: ${why}`);
    }
    expect(await count('ro-1')).toBe(0);
  });
  it('a write error on the rejects file (a full disk) stops the load with the summary of what was committed', async () => {
    const file = path.join(tmp, 'rejects-full.csv');
    const rows = ['time,device_id,metric,value'];
    for (let i = 0; i < 3000; i++)
      rows.push(`2024-03-09T03:00:${String(i % 60).padStart(2, '0')}.${i}Z,full-1,t,${i % 2 ? 'x' : i}`);
    fs.writeFileSync(file, rows.join('\n') + '\n');
    const partials: IngestSummary[] = [];
    const err = await ingest(
      db,
      options([file], { rejectsPath: '/dev/full', batchSize: 100, onFatal: (p) => void partials.push(p) }),
    ).catch((e) => e);
    expect(err).toBeInstanceOf(IotctlError);
    expect(err.message).toBe('cannot write the rejects file /dev/full: no space left on the device');
    expect(partials).toHaveLength(1);
    expect(partials[0]).toMatchObject({ stopped: 'error' });
    expect(partials[0]!.loaded).toBe(await count('full-1'));
  });
  it('wide NDJSON: text in the first object does not hide later numbers, nor turn later numbers into rejects (or events)', async () => {
    const file = path.join(tmp, 'wide-text-first.ndjson');
    const at = (m: number, device: string) => `"time":"2024-03-09T00:0${m}:00Z","device":"${device}"`;
    fs.writeFileSync(
      file,
      [
        `{${at(0, 'wt-1')},"temp":20,"hum":"n/a"}`,
        `{${at(1, 'wt-1')},"temp":21,"hum":40.1}`,
        `{${at(2, 'wt-1')},"temp":22,"hum":40.2}`,
        `{${at(3, 'wt-1')},"temp":23,"hum":40.3}`,
        `{${at(0, 'wt-2')},"rh":"bad"}`,
        `{${at(1, 'wt-2')},"rh":50}`,
      ].join('\n'),
    );
    const s = await ingest(db, options([file]));
    accounted(s);
    // rh "bad" is an event (text), the later 50 a reading.
    expect(s).toMatchObject({ read: 10, loaded: 9, events: 1, nulls: 1, rejected: 0 });
    expect((await values('wt-1')).filter((r) => r[1] === 'hum').map((r) => r[2])).toEqual([40.1, 40.2, 40.3]);
    expect(await values('wt-2')).toEqual([['2024-03-09T00:01:00.000Z', 'rh', 50, null]]);
  });
  it('a file with CR-only line endings is read row by row (it was one header line: read 0)', async () => {
    const file = path.join(tmp, 'cr-only.csv');
    fs.writeFileSync(
      file,
      'time,device_id,metric,value\r2024-03-09T01:00:00Z,cr-1,t,1\r2024-03-09T01:01:00Z,cr-1,t,2\r',
    );
    const s = await ingest(db, options([file]));
    expect(s).toMatchObject({ read: 2, loaded: 2, rejected: 0 });
    expect(await count('cr-1')).toBe(2);
  });
  it('a load of many batches stores every reading as read: batches reuse their columns and COPY buffers', async () => {
    // 12 series every 10 s; each value says which row it was (series + 12 x step), so a buffer reused while its
    // COPY was still being sent would store another batch's values (or lose rows to the unique index).
    const from = Date.UTC(2023, 5, 1);
    const rows = 30_000;
    const lines = ['time,device_id,metric,value'];
    for (let n = 0; n < rows; n++) {
      const series = n % 12;
      const time = new Date(from + Math.floor(n / 12) * 10_000).toISOString();
      lines.push(`${time},reuse-${series >> 1},${series & 1 ? 'b' : 'a'},${n}`);
    }
    const file = path.join(tmp, 'reuse.csv');
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const s = await ingest(db, options([file], { batchSize: 2000, workers: 2 }));
    expect(s).toMatchObject({ read: rows, loaded: rows, duplicates: 0, rejected: 0, batches: 15 });
    const { rows: got } = await db.query<{ n: number; wrong: number }>(
      `SELECT count(*)::int AS n,
              count(*) FILTER (WHERE p.value <> round(extract(epoch FROM p.time - $1::timestamptz) / 10) * 12
                + substr(s.device_id, 7)::int * 2 + (s.metric = 'b')::int)::int AS wrong
         FROM iotctl.points p JOIN iotctl.series s ON s.id = p.series_id
        WHERE s.device_id LIKE 'reuse-%'`,
      [new Date(from)],
    );
    expect(got[0]).toEqual({ n: rows, wrong: 0 });
  });

  describe('the four public sample data sets (committed excerpts) load with their documented options', () => {
    it('UCI Air Quality: ; separated, Date + Time columns, decimal commas, -200 missing, separator-only lines', async () => {
      const s = await ingest(
        db,
        options(
          [fx('uci-air-quality.csv')],
          {},
          {
            device: 'uci-air-quality',
            timeColumns: ['Date', 'Time'],
            time: { tz: 'Etc/GMT-1', format: 'DD/MM/YYYY HH.mm.ss' },
            nulls: ['-200'],
          },
        ),
      );
      expect(s).toMatchObject({ read: 169, loaded: 164, nulls: 5, rejected: 0, duplicates: 0 });
      const { rows } = await db.query<{ time: Date; value: number }>(
        "SELECT time, value FROM iotctl.readings WHERE device_id = 'uci-air-quality' AND metric = 'CO(GT)' ORDER BY time LIMIT 1",
      );
      expect([new Date(rows[0]!.time).toISOString(), rows[0]!.value]).toEqual([
        '2004-03-10T17:00:00.000Z',
        2.6,
      ]);
    });

    it('Beijing PRSA: year/month/day/hour columns, station as device, NA missing, wd stored as events', async () => {
      const s = await ingest(
        db,
        options([fx('beijing-prsa.csv')], {}, { exclude: ['No'], time: { tz: 'Asia/Shanghai' } }),
      );
      // 11 rows × 11 numeric metrics + 11 wind directions (text: events).
      expect(s).toMatchObject({ read: 132, loaded: 129, events: 11, nulls: 3, rejected: 0 });
      expect(await count('Changping')).toBe(33);
      const { rows } = await db.query<{ n: number }>(
        "SELECT count(DISTINCT metric)::int AS n FROM iotctl.series WHERE device_id = 'Aotizhongxin'",
      );
      expect(rows[0]!.n).toBe(12);
    });

    it('AMPds2 electricity: epoch seconds', async () => {
      const s = await ingest(db, options([fx('ampds2-electricity.csv')], {}, { device: 'ampds2-house' }));
      expect(s).toMatchObject({ read: 110, loaded: 110, rejected: 0 });
      const { rows } = await db.query<{ t: Date }>(
        "SELECT min(time) AS t FROM iotctl.readings WHERE device_id = 'ampds2-house'",
      );
      expect(new Date(rows[0]!.t).toISOString()).toBe('2014-02-24T17:30:00.000Z');
    });

    it('UCI Occupancy: unnamed index column left out', async () => {
      const s = await ingest(db, options([fx('uci-occupancy.txt')], {}, { device: 'uci-office' }));
      expect(s).toMatchObject({ read: 60, loaded: 60, rejected: 0 });
    });
  });
});
