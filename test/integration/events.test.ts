// Events (text and boolean values) on every target: the events store init creates (and adds to a store set
// up without it), ingest's routing and accounting (wide CSV columns judged per column, NDJSON by type,
// --text-metrics), re-ingest duplicates, and the Beijing excerpt's wind direction.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest, type IngestSummary } from '../../src/ingest/run.js';
import { init, parseRollups } from '../../src/maintenance/init.js';
import type { Db } from '../../src/db/types.js';
import { parseDuration } from '../../src/util/duration.js';
import { ingestOptions as options } from '../helpers/ingest.js';
import { makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';

const FIX = path.resolve(import.meta.dirname, '../../fixtures/ingest');
const fx = (name: string) => path.join(FIX, name);

const accounted = (s: IngestSummary) => expect(s.loaded + s.rejected + s.duplicates + s.nulls).toBe(s.read);

const initStore = (db: Db) =>
  init(db, {
    chunkInterval: parseDuration('1d'),
    rollups: parseRollups('1h'),
    dryRun: false,
    plain: false,
    explicit: { chunkInterval: false, rollups: false },
  });

describe.each(targetKinds)('events on the %s target', (kind) => {
  let target: TestTarget;
  let db: Db;

  beforeAll(async () => {
    target = await makeTarget(kind);
    db = await target.open();
    await initStore(db);
  });
  afterAll(async () => {
    await db?.close();
    await target?.cleanup();
  });

  const events = async (device: string, metric: string) =>
    (
      await db.query<{ time: Date; value: string; level: string | null; payload: unknown }>(
        `SELECT time, value, level, payload FROM iotctl.event_log WHERE device_id = $1 AND metric = $2 ORDER BY time`,
        [device, metric],
      )
    ).rows.map((r) => [new Date(r.time).toISOString().slice(11, 16), r.value, r.level, r.payload]);
  const n = async (sql: string, values: unknown[] = []) =>
    (await db.query<{ n: number }>(sql, values)).rows[0]!.n;

  it('wide CSV: each column is judged by its first non-null value; read = loaded + rejected + duplicates + nulls', async () => {
    const s = await ingest(db, options([fx('events.csv')]));
    accounted(s);
    // 9 rows × 5 columns. temp and code are metrics (a number first): oops and E42 are rejected; door and
    // pump are events (text first), status too (its first value NA is a null, then idle); the bad time
    // rejects its row's 5 values.
    expect(s).toMatchObject({ read: 45, loaded: 34, events: 21, rejected: 7, nulls: 4, duplicates: 0 });
    expect(s.rejects).toEqual({ bad_value: 2, bad_time: 5 });
    expect(await n('SELECT count(*)::int AS n FROM iotctl.points')).toBe(13);
    expect(await n('SELECT count(*)::int AS n FROM iotctl.events')).toBe(21);
    expect(await events('hall-2', 'status')).toEqual([
      ['00:00', 'running', null, null],
      ['00:15', 'idle', null, null],
      ['00:45', '7', null, null],
    ]);
    expect((await events('hall-2', 'pump')).map((e) => e[1])).toEqual(['OFF', 'ON', 'true']);
  });

  it('a re-ingest counts every reading and event as a duplicate', async () => {
    const s = await ingest(db, options([fx('events.csv')]));
    accounted(s);
    expect(s).toMatchObject({ read: 45, loaded: 0, events: 0, duplicates: 34, rejected: 7, nulls: 4 });
    expect(await n('SELECT count(*)::int AS n FROM iotctl.events')).toBe(21);
  });

  it('--on-conflict update rewrites a changed event and counts the unchanged ones as duplicates', async () => {
    const s = await ingest(
      db,
      options([fx('events.csv')], { onConflict: 'update' }, { textMetrics: ['code'] }),
    );
    accounted(s);
    // code is now forced to events: 7 of its values are new events (E42 included), the readings stay.
    expect(s).toMatchObject({ events: 8, updated: 0, rejected: 6 });
    expect((await events('hall-1', 'code')).map((e) => e[1])).toEqual(['1', '2', '3', 'E42', '5']);
  });

  it('NDJSON by type: strings and booleans are events, with a level and a payload object for log lines', async () => {
    const s = await ingest(db, options([fx('events.ndjson')]));
    accounted(s);
    expect(s).toMatchObject({ read: 12, events: 7, loaded: 9, rejected: 2, nulls: 1 });
    expect(s.rejects).toEqual({ bad_value: 1, bad_payload: 1 });
    expect(await events('pump-1', 'log')).toEqual([
      ['00:09', 'disk full', 'error', { disk: '/dev/sda1', free: 0 }],
      ['00:10', 'recovered', 'info', null],
    ]);
    expect(await events('pump-1', 'running')).toEqual([['00:08', 'true', null, null]]);
    expect(await events('door-3', 'contact')).toEqual([
      ['00:12', 'open', 'warn', null],
      ['00:13', 'closed', null, null],
    ]);
  });

  it('a store set up without the events table reads text as before until init adds the table', async () => {
    await db.query('DROP TABLE iotctl.events CASCADE');
    const opts = options([fx('beijing-prsa.csv')], {}, { exclude: ['No'], time: { tz: 'Asia/Shanghai' } });
    const before = await ingest(db, opts);
    // wd is not a metric, as before events existed.
    expect(before).toMatchObject({ read: 121, loaded: 118, events: 0, nulls: 3, rejected: 0 });
    const again = await initStore(db);
    expect(again.objects.filter((o) => o.status === 'created').map((o) => o.object)).toEqual(
      expect.arrayContaining(['view iotctl.event_log', expect.stringMatching(/^table iotctl\.events/)]),
    );
    const after = await ingest(db, opts);
    accounted(after);
    expect(after).toMatchObject({ read: 132, loaded: 11, events: 11, duplicates: 118, nulls: 3 });
    expect((await events('Changping', 'wd')).map((e) => e[1])).toEqual(['E', 'ENE', 'ENE']);
  });
});
