// The Citus engine on a real cluster (IOTCTL_TEST_CITUS_URL: a coordinator with two workers): what init
// distributes, and one regression test for each plan or statement Citus refused before the engine rewrote it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/types.js';
import { loadStore } from '../../src/db/store.js';
import { openDb } from '../../src/db/connect.js';
import { citusKinds, makeTarget, withDatabase, type TestTarget } from '../helpers/targets.js';
import { runMain } from '../helpers/main.js';

const DAY = 86_400_000;
const START = Date.UTC(2024, 0, 1);

/** Long-format CSV: `devices` devices × one metric, one reading a minute over [fromMs, toMs). */
function readingsCsv(
  dir: string,
  name: string,
  fromMs: number,
  toMs: number,
  devices = 6,
  value = 0,
): string {
  const lines = ['time,device_id,metric,value'];
  for (let t = fromMs; t < toMs; t += 60_000) {
    for (let d = 0; d < devices; d++)
      lines.push(`${new Date(t).toISOString()},dev-${d},temp,${value + d + ((t / 60_000) % 17)}`);
  }
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

async function one<T>(db: Db, text: string, values: unknown[] = []): Promise<T> {
  return (await db.query<Record<string, unknown>>({ text, values })).rows[0] as T;
}

describe.runIf(citusKinds.length > 0)(
  'the Citus engine on the citus target (a coordinator with two workers)',
  () => {
    let target: TestTarget;
    let db: Db;
    let dir: string;
    const cli = (...args: string[]) => runMain([...args, '--db', target.spec]);

    beforeEach(async () => {
      target = await makeTarget('citus');
      db = await target.open();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-citus-'));
      expect((await cli('init', '--quiet')).code).toBe(0);
    }, 60_000);

    afterEach(async () => {
      await db.close();
      await target.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('init distributes points and rollups by series_id, co-located, series as a reference table, iotctl tables local, and puts no trigger on points', async () => {
      const store = await loadStore(db);
      expect(store.mode).toBe('citus');
      // A week per partition by default: 4 shards of a day hold too few rows for columnar to compress well.
      expect(store.chunkInterval.text).toBe('7d');
      const { rows } = await db.query<{ rel: string; method: string; colocation: number }>({
        text: `SELECT logicalrelid::text AS rel, partmethod AS method, colocationid AS colocation FROM pg_dist_partition
              WHERE logicalrelid::text IN ('iotctl.series', 'iotctl.points', 'iotctl.rollup_1m', 'iotctl.rollup_1h', 'iotctl.rollup_1d',
                                          'iotctl.meta', 'iotctl.job_runs', 'iotctl.policies') ORDER BY 1`,
      });
      const by = new Map(rows.map((r) => [r.rel, r]));
      expect(by.get('iotctl.series')?.method).toBe('n');
      expect(by.get('iotctl.points')?.method).toBe('h');
      for (const r of ['iotctl.rollup_1m', 'iotctl.rollup_1h', 'iotctl.rollup_1d'])
        expect(by.get(r)?.colocation).toBe(by.get('iotctl.points')?.colocation);
      for (const local of ['iotctl.meta', 'iotctl.job_runs', 'iotctl.policies'])
        expect(by.has(local)).toBe(false);
      const triggers = await one<{ n: number }>(
        db,
        "SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = 'iotctl.points'::regclass AND NOT tgisinternal",
      );
      expect(triggers.n).toBe(0);
      // A second init changes nothing.
      const again = await cli('init', '--json');
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout).changed).toBe(false);
    });

    it('late readings below the watermark reach the rollups without a trigger (ingest marks them dirty)', async () => {
      // Day 2 misses an hour, which arrives after maintain has refreshed past it.
      const gapFrom = START + DAY + 10 * 3_600_000;
      const gapTo = gapFrom + 3_600_000;
      const early = readingsCsv(dir, 'a.csv', START, gapFrom);
      const after = readingsCsv(dir, 'b.csv', gapTo, START + 3 * DAY);
      const late = readingsCsv(dir, 'late.csv', gapFrom, gapTo);
      for (const f of [early, after]) expect((await cli('ingest', f, '--quiet')).code).toBe(0);
      expect((await cli('maintain', '--quiet')).code).toBe(0);
      expect((await cli('ingest', late, '--quiet')).code).toBe(0);
      const mark = await one<{ from: string | null }>(
        db,
        "SELECT value->>'from' AS from FROM iotctl.meta WHERE key = 'dirty:rollup_1m'",
      );
      expect(mark?.from && new Date(mark.from).getTime()).toBe(gapFrom);
      // The refresh maintain would run when it is next due.
      expect((await cli('rollup', 'refresh', 'rollup_1m', '--quiet')).code).toBe(0);
      const counts = await one<{ raw: number; rolled: number }>(
        db,
        'SELECT (SELECT count(*) FROM iotctl.points)::int AS raw, (SELECT sum(count) FROM iotctl.rollup_1m)::int AS rolled',
      );
      expect(counts.rolled).toBe(counts.raw);
      // maintain writes its watermarks and ledger rows on the coordinator's meta (an upsert without now()).
      expect((await cli('maintain', '--quiet')).code).toBe(0);
    });

    it('re-ingesting a file counts every reading as a duplicate (COPY reports the unique violation as XX000)', async () => {
      const file = readingsCsv(dir, 'a.csv', START, START + DAY / 4);
      const rows = 6 * 360;
      expect((await cli('ingest', file, '--quiet')).code).toBe(0);
      const again = await cli('ingest', file, '--json');
      expect(again.code).toBe(0);
      const summary = JSON.parse(again.stdout);
      expect(summary.loaded).toBe(0);
      expect(summary.duplicates).toBe(rows);
      expect((await one<{ n: number }>(db, 'SELECT count(*)::int AS n FROM iotctl.points')).n).toBe(rows);
    });

    it('--on-conflict update counts stored readings (a join, not EXISTS) and overwrites them', async () => {
      expect((await cli('ingest', readingsCsv(dir, 'a.csv', START, START + DAY / 4), '--quiet')).code).toBe(
        0,
      );
      const changed = readingsCsv(dir, 'b.csv', START, START + DAY / 4 + 3_600_000, 6, 1000);
      const r = await cli('ingest', changed, '--on-conflict', 'update', '--json');
      expect(r.code).toBe(0);
      const summary = JSON.parse(r.stdout);
      expect(summary.updated).toBe(6 * 360);
      expect(summary.loaded).toBe(6 * 420);
      const min = await one<{ v: number }>(db, 'SELECT min(value) AS v FROM iotctl.points');
      expect(min.v).toBeGreaterThanOrEqual(1000);
    });

    it('query latest answers with DISTINCT ON (the LATERAL ... LIMIT 1 form cannot be pushed down)', async () => {
      expect((await cli('ingest', readingsCsv(dir, 'a.csv', START, START + DAY / 4), '--quiet')).code).toBe(
        0,
      );
      const r = await cli('query', 'latest', '--json');
      expect(r.code).toBe(0);
      const rows = JSON.parse(r.stdout).rows as Array<{ device: string; time: string }>;
      expect(rows.map((x) => x.device)).toEqual(['dev-0', 'dev-1', 'dev-2', 'dev-3', 'dev-4', 'dev-5']);
      for (const x of rows) expect(new Date(x.time).getTime()).toBe(START + DAY / 4 - 60_000);
    });

    it('anomalies reads each series history per shard (Citus refused the correlated OFFSET ... LIMIT subquery)', async () => {
      expect((await cli('ingest', readingsCsv(dir, 'a.csv', START, START + DAY / 4), '--quiet')).code).toBe(
        0,
      );
      const spikeAt = new Date(START + DAY / 8 + 30_000).toISOString();
      const spike = path.join(dir, 'spike.csv');
      fs.writeFileSync(spike, `time,device_id,metric,value\n${spikeAt},dev-3,temp,900\n`);
      expect((await cli('ingest', spike, '--quiet')).code).toBe(0);
      const since = new Date(START + DAY / 8 - 3_600_000).toISOString();
      const until = new Date(START + DAY / 4).toISOString();
      for (const method of ['robust', 'zscore']) {
        const r = await cli(
          'anomalies',
          '--method',
          method,
          '--points',
          '--since',
          since,
          '--until',
          until,
          '--json',
        );
        expect(r.code).toBe(0);
        const rows = JSON.parse(r.stdout).rows as Array<{ device: string; time: string; value: number }>;
        expect(rows.filter((x) => x.value === 900).map((x) => [x.device, x.time])).toEqual([
          ['dev-3', spikeAt],
        ]);
      }
    });

    it('an empty range is a note naming where the readings are (its first/last LATERAL ... LIMIT 1 runs per shard)', async () => {
      expect((await cli('ingest', readingsCsv(dir, 'a.csv', START, START + DAY / 4), '--quiet')).code).toBe(
        0,
      );
      const r = await cli('query', 'agg', '--since', '2020-01-01', '--until', '2020-01-02', '--every', '1h');
      expect(r.code).toBe(0);
      const last = new Date(START + DAY / 4 - 60_000).toISOString();
      expect(r.stderr).toContain(
        `(the store holds readings from ${new Date(START).toISOString()} to ${last})`,
      );
    });

    it('stats and status report the shards sizes on the workers, not the empty shells on the coordinator', async () => {
      expect(
        (await cli('ingest', readingsCsv(dir, 'a.csv', START, START + 2 * DAY, 20), '--quiet')).code,
      ).toBe(0);
      // A vacuum of the shards now, not an autovacuum on a worker between the two readings of their sizes.
      await db.query('VACUUM iotctl.points');
      const truth = await one<{ bytes: number }>(
        db,
        `SELECT sum(citus_total_relation_size(c.oid))::bigint AS bytes FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'iotctl.points'::regclass`,
      );
      const stats = await cli('stats', '--json');
      expect(stats.code).toBe(0);
      const parsed = JSON.parse(stats.stdout);
      expect(parsed.totals.bytesAfter).toBe(Number(truth.bytes));
      // 57,600 readings take megabytes; the shells took 8 kB per partition.
      expect(parsed.totals.bytesAfter).toBeGreaterThan(1_000_000);
      const rollup = await one<{ bytes: number }>(
        db,
        "SELECT citus_total_relation_size('iotctl.rollup_1m')::bigint AS bytes",
      );
      expect(parsed.rollups.find((r: { name: string }) => r.name === 'rollup_1m').bytes).toBe(
        Number(rollup.bytes),
      );
      const status = await cli('status', '--json');
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout).bytes.points).toBe(Number(truth.bytes));
    });

    it('compress converts old partitions to columnar, new readings still land there, compress undo converts back for updates', async () => {
      const file = readingsCsv(dir, 'a.csv', START, START + 2 * DAY);
      expect((await cli('ingest', file, '--quiet')).code).toBe(0);
      const run = await cli('compress', 'run', '--older-than', '1d', '--json');
      expect(run.code).toBe(0);
      const am = await one<{ columnar: number; all: number }>(
        db,
        `SELECT count(*) FILTER (WHERE a.amname = 'columnar')::int AS columnar, count(*)::int AS all
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_am a ON a.oid = c.relam
        WHERE i.inhparent = 'iotctl.points'::regclass AND c.relname < 'points_p2025'`,
      );
      // 2024-01-01 and 02 lie in one 7d partition (points_p20231228_0000); the others are ahead of now.
      expect([am.columnar, am.all]).toEqual([1, 1]);
      // ON CONFLICT DO NOTHING works on columnar: a re-ingest is all duplicates.
      const again = JSON.parse((await cli('ingest', file, '--json')).stdout);
      expect(again.duplicates).toBe(6 * 2 * 1440);
      const undo = await cli('compress', 'undo', '--newer-than', '10000d', '--json');
      expect(undo.code).toBe(0);
      const heap = await one<{ n: number }>(
        db,
        `SELECT count(*)::int AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_am a ON a.oid = c.relam
        WHERE i.inhparent = 'iotctl.points'::regclass AND a.amname = 'columnar'`,
      );
      expect(heap.n).toBe(0);
      const update = await cli(
        'ingest',
        readingsCsv(dir, 'b.csv', START, START + DAY, 6, 500),
        '--on-conflict',
        'update',
        '--json',
      );
      expect(update.code).toBe(0);
      expect(JSON.parse(update.stdout).updated).toBe(6 * 1440);
    });

    it('retention drops whole partitions', async () => {
      expect((await cli('ingest', readingsCsv(dir, 'a.csv', START, START + 2 * DAY), '--quiet')).code).toBe(
        0,
      );
      expect((await cli('maintain', '--quiet')).code).toBe(0);
      const r = await cli('retention', 'run', '--older-than', '100d', '--yes', '--json');
      expect(r.code).toBe(0);
      const left = await one<{ n: number }>(db, 'SELECT count(*)::int AS n FROM iotctl.points');
      expect(left.n).toBe(0);
    });

    it('advise reads each series cadence shard by shard (Citus refused its per-series LIMIT subqueries over every shard)', async () => {
      expect((await cli('ingest', readingsCsv(dir, 'a.csv', START, START + DAY / 4), '--quiet')).code).toBe(
        0,
      );
      const r = await cli('advise', '--json');
      expect(r.code, r.stderr).toBe(0);
      const series = JSON.parse(r.stdout).series as Array<{
        device: string;
        cadence: string;
        first: string;
        last: string;
      }>;
      expect(series.map((x) => x.device)).toEqual(['dev-0', 'dev-1', 'dev-2', 'dev-3', 'dev-4', 'dev-5']);
      for (const x of series) {
        expect(x.cadence).toBe('1m');
        expect([new Date(x.first).getTime(), new Date(x.last).getTime()]).toEqual([
          START,
          START + DAY / 4 - 60_000,
        ]);
      }
    });

    it("forecast reads its series' last reading on the shard that holds it (the LATERAL ... LIMIT 1 over every shard was refused)", async () => {
      expect((await cli('ingest', readingsCsv(dir, 'a.csv', START, START + DAY / 4), '--quiet')).code).toBe(
        0,
      );
      const r = await cli(
        'forecast',
        '--metric',
        'temp',
        '--device',
        'dev-3',
        '--every',
        '5m',
        '--horizon',
        '1h',
        '--json',
      );
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      // The history ends with the bucket holding the last reading; 12 steps of 5 minutes follow it.
      expect(new Date(out.until).getTime()).toBe(START + DAY / 4);
      expect(out.fitted.buckets).toBe(72);
      expect(out.rows).toHaveLength(12);
    });

    it('status and stats count the readings of an ingest at once (its ANALYZE reaches the shards, whose estimates are summed)', async () => {
      expect(
        (await cli('ingest', readingsCsv(dir, 'a.csv', START, START + 2 * DAY, 20), '--quiet')).code,
      ).toBe(0);
      const rows = 20 * 2 * 1440;
      const status = await cli('status', '--json');
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout).rowsEstimate).toBe(rows);
      const stats = JSON.parse((await cli('stats', '--json')).stdout);
      expect(stats.totals.rowsEstimate).toBe(rows);
      const written = stats.chunks.filter((c: { rowsEstimate: number | null }) => c.rowsEstimate);
      expect(written.map((c: { chunk: string }) => c.chunk)).toEqual(['iotctl.points_p20231228_0000']);
    });

    it('a lost connection to a worker inside a transaction names the worker, not the coordinator', async () => {
      expect((await cli('ingest', readingsCsv(dir, 'a.csv', START, START + DAY / 4), '--quiet')).code).toBe(
        0,
      );
      const worker = await one<{ url: string; node: string }>(
        db,
        "SELECT format('postgres://postgres@%s:%s/', nodename, nodeport) AS url, format('%s:%s', nodename, nodeport) AS node FROM pg_dist_node WHERE groupid <> 0 AND noderole = 'primary' ORDER BY groupid LIMIT 1",
      );
      const { default: pg } = await import('pg');
      const killer = new pg.Client({
        connectionString: withDatabase(worker.url, new URL(target.spec).pathname.slice(1)),
      });
      await killer.connect();
      try {
        const failed = db.transaction(async (tx) => {
          // The coordinator keeps its connections to the workers for the transaction: cut them, then read.
          await tx.query('SELECT count(*) FROM iotctl.points');
          await killer.query(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
          );
          await tx.query('SELECT count(*) FROM iotctl.points');
        });
        await expect(failed).rejects.toMatchObject({
          code: 'CONNECTION',
          message: expect.stringMatching(
            new RegExp(
              `^lost connection to the Citus worker ${worker.node.replace(/\./g, '\\.')} \\(through postgres://`,
            ),
          ),
        });
      } finally {
        await killer.end();
      }
    });

    it('a read that a worker fails mid-statement (its backend terminated) is run again, and says so', async () => {
      expect((await cli('ingest', readingsCsv(dir, 'a.csv', START, START + DAY / 2), '--quiet')).code).toBe(
        0,
      );
      const { rows: workers } = await db.query<{ url: string }>({
        text: "SELECT format('postgres://postgres@%s:%s/', nodename, nodeport) AS url FROM pg_dist_node WHERE groupid <> 0 AND noderole = 'primary'",
      });
      const database = new URL(target.spec).pathname.slice(1);
      const notices: string[] = [];
      const reader = await openDb({ db: target.spec, onRetry: (m) => notices.push(m) });
      let killed = 0;
      const killer = (async () => {
        const { default: pg } = await import('pg');
        const clients = workers.map(
          (w) => new pg.Client({ connectionString: withDatabase(w.url, database) }),
        );
        for (const c of clients) await c.connect();
        try {
          // Terminate the first worker backend seen running the slow read, once.
          for (let i = 0; i < 200 && !killed; i++) {
            for (const c of clients) {
              const r = await c.query(
                "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep%' AND query NOT LIKE '%pg_stat_activity%'",
              );
              killed += r.rows[0].n;
              if (killed) break;
            }
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        } finally {
          for (const c of clients) await c.end();
        }
      })();
      try {
        const { rows } = await reader.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM iotctl.points WHERE pg_sleep(0.001) IS NOT NULL',
        );
        await killer;
        expect(killed).toBeGreaterThan(0);
        expect(rows[0]?.n).toBe(6 * 720);
        expect(notices).toHaveLength(1);
        expect(notices[0]).toMatch(
          /^a worker failed during a read, running it again \(attempt 2 of 3\): terminating connection/,
        );
      } finally {
        await killer;
        await reader.close();
      }
    });
  },
);
