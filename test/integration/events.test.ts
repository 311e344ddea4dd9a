// Events (text and boolean values) on every target: the events store init creates (and adds to a store set
// up without it), ingest's routing and accounting (wide CSV columns judged per column, NDJSON by type,
// --text-metrics), re-ingest duplicates, and the Beijing excerpt's wind direction.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest, type IngestSummary } from '../../src/ingest/run.js';
import { init, parseRollups } from '../../src/maintenance/init.js';
import type { Db } from '../../src/db/types.js';
import { parseDuration } from '../../src/util/duration.js';
import { queryEvents, type EventRow } from '../../src/query/events.js';
import { aggregateStates, selectsEventSeries } from '../../src/query/states.js';
import { compressRun } from '../../src/maintenance/compress.js';
import { deleteReadingsOf } from '../../src/maintenance/delete.js';
import { removePolicy, setPolicy } from '../../src/maintenance/policies.js';
import { retentionRun } from '../../src/maintenance/retention.js';
import { stats } from '../../src/maintenance/stats.js';
import { status } from '../../src/maintenance/status.js';
import { listJobs } from '../../src/maintenance/jobs.js';
import { loadStore } from '../../src/db/store.js';
import { ingestOptions as options } from '../helpers/ingest.js';
import { engineOf, makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';

const FIX = path.resolve(import.meta.dirname, '../../fixtures/ingest');
const fx = (name: string) => path.join(FIX, name);

const accounted = (s: IngestSummary) => expect(s.loaded + s.rejected + s.duplicates + s.nulls).toBe(s.read);

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY0 = Date.UTC(2024, 4, 6);

/** A pump's states on whole minutes over a day (deterministic), one before the range the tests read. */
function pumpEvents(): Array<[number, string]> {
  const states = ['ON', 'OFF', 'FAULT'];
  const out: Array<[number, string]> = [[DAY0 + 2 * HOUR + 7 * MIN, 'OFF']];
  let seed = 7;
  for (let t = DAY0 + 3 * HOUR + 11 * MIN; t < DAY0 + 22 * HOUR;) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    out.push([t, states[seed % 3]!]);
    t += (1 + (seed % 97)) * MIN;
  }
  return out;
}

/**
 * The expected counts and seconds per (bucket, value), computed independently of the code under test: the
 * state is sampled at every minute of [since, end) (events fall on whole minutes, so this is exact).
 */
function sampledStates(
  events: Array<[number, string]>,
  since: number,
  until: number,
  end: number,
  every: number,
) {
  const cells = new Map<string, { count: number; seconds: number }>();
  const at = (bucket: number, value: string) => {
    const key = `${new Date(bucket).toISOString()} ${value}`;
    if (!cells.has(key)) cells.set(key, { count: 0, seconds: 0 });
    return cells.get(key)!;
  };
  const origin = Date.UTC(2000, 0, 3);
  const floor = (t: number) => origin + Math.floor((t - origin) / every) * every;
  for (let m = since; m < Math.min(until, end); m += MIN) {
    const state = events.filter(([t]) => t <= m).at(-1);
    if (state) at(floor(m), state[1]).seconds += 60;
  }
  for (const [t, v] of events) if (t >= since && t < until) at(floor(t), v).count++;
  return cells;
}

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

  it('query events lists events by series and time, filtered by level, with a limit', async () => {
    const list = async (o: Partial<Parameters<typeof queryEvents>[1]> = {}) => {
      const rows: EventRow[] = [];
      const range = { since: new Date('2024-03-01T00:00:00Z'), until: new Date('2024-03-02T00:00:00Z') };
      for await (const r of queryEvents(db, { filter: {}, range, pageSize: 3, ...o })) rows.push(r);
      return rows;
    };
    const all = await list({ filter: { devices: ['pump-1', 'door-3'] } });
    expect(all.map((r) => [r.device, r.metric, r.value])).toEqual([
      ['pump-1', 'state', 'ON'],
      ['pump-1', 'state', 'OFF'],
      ['pump-1', 'running', 'true'],
      ['pump-1', 'log', 'disk full'],
      ['pump-1', 'log', 'recovered'],
      ['door-3', 'contact', 'open'],
      ['door-3', 'contact', 'closed'],
    ]);
    const errors = await list({ levels: ['error', 'warn'] });
    expect(errors.map((r) => [r.value, r.level, r.payload])).toEqual([
      ['disk full', 'error', { disk: '/dev/sda1', free: 0 }],
      ['open', 'warn', null],
    ]);
    expect(await list({ filter: { metric: 'door' }, limit: 4 })).toHaveLength(4);
    await expect(list({ filter: { metric: 'nope' } })).rejects.toThrow(/no series matches --metric nope/);
  });

  it('query agg on an event metric: counts and time in each state per bucket, as sampled minute by minute', async () => {
    const events = pumpEvents();
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-states-')), 'pump.csv');
    fs.writeFileSync(
      file,
      'time,device_id,metric,value\n' +
        events.map(([t, v]) => `${new Date(t).toISOString()},pump-9,pump,${v}`).join('\n') +
        '\n',
    );
    const s = await ingest(db, options([file]));
    expect(s).toMatchObject({ events: events.length, loaded: events.length });
    const filter = { metric: 'pump', devices: ['pump-9'] };
    expect(await selectsEventSeries(db, filter)).toBe(true);
    expect(await selectsEventSeries(db, { metric: 'temp' })).toBe(false);
    const since = DAY0 + 3 * HOUR;
    const until = DAY0 + 20 * HOUR;
    for (const [every, nowMs] of [
      [HOUR, Date.now()],
      [3 * HOUR, Date.now()],
      // An open range: the last state lasts until now, here 10.5 hours into it.
      [HOUR, since + 10.5 * HOUR],
    ] as const) {
      const res = await aggregateStates(db, {
        filter,
        range: { since: new Date(since), until: new Date(until) },
        every: parseDuration(every === HOUR ? '1h' : '3h'),
        nowMs,
        pageSize: 7,
      });
      const got = new Map(
        res.rows.map((r) => [`${r.time.toISOString()} ${r.value}`, { count: r.count, seconds: r.seconds }]),
      );
      expect(got).toEqual(sampledStates(events, since, until, nowMs, every));
      // Every second of the range (up to now) is in exactly one state: the carried-in one covers the start.
      const total = res.rows.reduce((n, r) => n + r.seconds, 0);
      expect(total).toBe((Math.min(until, nowMs) - since) / 1000);
    }
  });

  it('delete removes the events of the series with their readings, and keeps a series that still has events', async () => {
    const n0 = await n("SELECT count(*)::int AS n FROM iotctl.event_log WHERE device_id = 'door-3'");
    expect(n0).toBe(2);
    const since = new Date('2024-03-01T00:12:30Z');
    const part = await deleteReadingsOf(db, {
      filter: { devices: ['door-3'] },
      since,
      until: null,
      dryRun: false,
    });
    // contact closed (00:13) goes; battery's reading was at 00:12 and its 00:13 value was a null.
    expect(part).toMatchObject({ events: 1, readings: 0 });
    expect(await n("SELECT count(*)::int AS n FROM iotctl.series WHERE device_id = 'door-3'")).toBe(2);
    const all = await deleteReadingsOf(db, {
      filter: { devices: ['door-3'] },
      since: null,
      until: null,
      dryRun: false,
    });
    expect(all).toMatchObject({ events: 1, readings: 1, seriesRemoved: 2 });
    expect(
      await n(
        "SELECT count(*)::int AS n FROM iotctl.events e JOIN iotctl.series s ON s.id = e.series_id WHERE s.device_id = 'door-3'",
      ),
    ).toBe(0);
    // No event is left without its series.
    expect(
      await n(
        'SELECT count(*)::int AS n FROM iotctl.events e WHERE NOT EXISTS (SELECT 1 FROM iotctl.series s WHERE s.id = e.series_id)',
      ),
    ).toBe(0);
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

describe.each(targetKinds)('events in maintenance on the %s target', (kind) => {
  let target: TestTarget;
  let db: Db;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-events-maint-'));

  beforeAll(async () => {
    target = await makeTarget(kind);
    db = await target.open();
    // No rollups: plain mode holds retention back where a rollup has not taken the readings in.
    await init(db, {
      chunkInterval: parseDuration('1d'),
      rollups: [],
      dryRun: false,
      plain: false,
      explicit: { chunkInterval: false, rollups: true },
    });
    const now = Date.now();
    const lines = ['time,device_id,temp,door'];
    for (const ago of [30 * 86_400_000 + 5 * MIN, 30 * 86_400_000, HOUR + 5 * MIN, HOUR])
      lines.push(`${new Date(now - ago).toISOString()},m-1,${ago % 7},${ago % 2 ? 'open' : 'closed'}`);
    fs.writeFileSync(path.join(tmp, 'm.csv'), lines.join('\n') + '\n');
    expect(await ingest(db, options([path.join(tmp, 'm.csv')]))).toMatchObject({ loaded: 8, events: 4 });
  });
  afterAll(async () => {
    await db?.close();
    await target?.cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const eventChunks = async () => (await loadStore(db)).engine.listChunks(db, 'events');
  const eventCount = async () =>
    (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM iotctl.events')).rows[0]!.n;

  it('stats and status count the events beside the readings', async () => {
    const s = await stats(db, { sort: 'time' });
    expect(s.events).toMatchObject({ chunks: (await eventChunks()).length });
    expect(s.events!.chunks).toBeGreaterThanOrEqual(2);
    expect(s.events!.bytesAfter).toBeGreaterThan(0);
    const st = await status(db);
    expect(st.bytes.events).toBe(s.events!.bytesAfter);
  });

  it.runIf(engineOf(kind) !== 'plain')(
    'compress run compresses the events chunks older than the cutoff too',
    async () => {
      const res = await compressRun(db, { olderThan: parseDuration('7d'), dryRun: false });
      const events = await eventChunks();
      const old = events.filter((c) => new Date(c.range_end).getTime() < Date.now() - 7 * 86_400_000);
      expect(old.length).toBeGreaterThan(0);
      expect(old.every((c) => c.compressed)).toBe(true);
      expect(res.chunks.map((c) => c.chunk)).toEqual(expect.arrayContaining(old.map((c) => c.chunk)));
      expect(events.some((c) => !c.compressed)).toBe(true);
      expect(await eventCount()).toBe(4);
    },
  );

  it.runIf(engineOf(kind) === 'timescaledb')(
    'a compression or retention policy on the readings is set on the events too',
    async () => {
      const store = await loadStore(db);
      await setPolicy(db, store, 'retention', 'points', parseDuration('365d'));
      await setPolicy(db, store, 'compression', 'points', parseDuration('30d'));
      const names = (await listJobs(db, store)).map((j) => j.name);
      expect(names).toEqual(expect.arrayContaining(['retention:events', 'compression:events']));
      await removePolicy(db, store, 'retention', 'points');
      await removePolicy(db, store, 'compression', 'points');
      const after = (await listJobs(db, store)).map((j) => j.name);
      expect(after.filter((n) => n.endsWith(':events'))).toEqual([]);
    },
  );

  it('retention drops the events older than the readings cutoff with them', async () => {
    const dry = await retentionRun(db, { olderThan: parseDuration('10d'), dryRun: true, yes: false });
    const oldEvents = (await eventChunks()).filter(
      (c) => new Date(c.range_end).getTime() < Date.now() - 10 * 86_400_000,
    );
    expect(oldEvents.length).toBeGreaterThan(0);
    expect(dry.chunks.map((c) => c.chunk)).toEqual(expect.arrayContaining(oldEvents.map((c) => c.chunk)));
    const run = await retentionRun(db, { olderThan: parseDuration('10d'), dryRun: false, yes: true });
    expect(run.dropped.join(' ')).toMatch(/event|_hyper_/);
    expect(await eventCount()).toBe(2);
    expect((await eventChunks()).map((c) => c.chunk)).not.toEqual(
      expect.arrayContaining([oldEvents[0]!.chunk]),
    );
  });
});
