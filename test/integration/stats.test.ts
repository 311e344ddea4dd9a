// `stats`, `compress run` and `compress undo`: per-chunk figures before and after compression, JSON shape pinned.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressRun, compressUndo } from '../../src/maintenance/compress.js';
import { status } from '../../src/maintenance/status.js';
import { stats } from '../../src/maintenance/stats.js';
import { loadStore } from '../../src/db/store.js';
import { tsdbChunkTotals, tsdbChunks, tsdbRollupSizes } from '../../src/db/sql/maintenance.js';
import type { Db, Sql } from '../../src/db/types.js';
import { parseDuration } from '../../src/util/duration.js';
import { ensureDaysBack, initTestStore } from '../helpers/store.js';
import { engineOf, makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';
import { seedReadings } from './maintenance-data.js';

const DAY = 86_400_000;

/**
 * The embedded database's chunk and rollup sizes added up from the data directory's files equal what its
 * own size functions (pg_total_relation_size) report, and come from the files: with every file sized 0
 * they are 0, and a relation whose file the walk did not see is sized by the database.
 */
async function expectFileSizesMatchDatabase(db: Db): Promise<void> {
  const files = await db.relationFileSizes();
  expect(files?.size).toBeGreaterThan(0);
  const rollups = (await loadStore(db)).rollups.map((r) => r.name);
  const rows = async (sql: Sql) => (await db.query(sql)).rows;
  const listed = await rows(tsdbChunks('iotctl.points', undefined, files));
  expect(listed.length).toBeGreaterThan(1);
  expect(listed).toEqual(await rows(tsdbChunks('iotctl.points')));
  expect(await rows(tsdbChunkTotals('iotctl.points', files))).toEqual(
    await rows(tsdbChunkTotals('iotctl.points')),
  );
  const rollupSizes = await rows(tsdbRollupSizes(rollups, files));
  expect(rollupSizes).toEqual(await rows(tsdbRollupSizes(rollups)));
  expect(rollupSizes.every((r) => Number(r.bytes) > 0)).toBe(true);

  const zero = new Map([...files!.keys()].map((node) => [node, 0]));
  expect((await rows(tsdbChunkTotals('iotctl.points', zero)))[0]).toMatchObject({ bytes: 0 });
  // The first chunk's own file unseen: the chunk itself is sized by the database (its compressed relation,
  // if any, still from the files, here 0).
  const { rows: first } = await db.query<{ node: number; bytes: number }>(
    'SELECT pg_relation_filenode($1::regclass)::int AS node, pg_total_relation_size($1::regclass)::bigint AS bytes',
    [listed[0]!.chunk],
  );
  expect(Number(first[0]!.bytes)).toBeGreaterThan(0);
  zero.delete(first[0]!.node);
  const partly = await rows(tsdbChunks('iotctl.points', undefined, zero));
  expect(partly.map((c) => Number(c.bytes))).toEqual(
    listed.map((_, i) => (i === 0 ? Number(first[0]!.bytes) : 0)),
  );
}

describe.each(targetKinds)('stats on the %s target', (kind) => {
  let target: TestTarget;
  let db: Db;
  const tsdb = engineOf(kind) === 'timescaledb';
  beforeAll(async () => {
    target = await makeTarget(kind);
    db = await target.open();
    await ensureDaysBack(db, await initTestStore(db, '1h'), 12);
    // Whole days: a chunk holding only the last hours of its day can grow when compressed (seen past 20:00 UTC).
    await seedReadings(db, 10, '5 minutes', 'day');
  });
  afterAll(async () => {
    await db.close();
    await target.cleanup();
  });

  it('has a pinned JSON shape', async () => {
    const result = await stats(db, { sort: 'time' });
    expect(Object.keys(result)).toEqual(['mode', 'chunks', 'totals', 'rollups', 'events']);
    expect(result.mode).toBe(engineOf(kind));
    expect(Object.keys(result.chunks[0]!)).toEqual([
      'chunk',
      'rangeStart',
      'rangeEnd',
      'compressed',
      'rowsEstimate',
      'bytesBefore',
      'bytesAfter',
      'ratio',
    ]);
    expect(Object.keys(result.totals)).toEqual([
      'chunks',
      'compressed',
      'rowsEstimate',
      'bytesBefore',
      'bytesAfter',
      'ratio',
    ]);
    expect(result.rollups).toEqual([{ name: 'rollup_1h', bytes: expect.any(Number) }]);
    expect(result.chunks.every((c) => c.compressed === false && c.ratio === null && c.bytesAfter > 0)).toBe(
      true,
    );
    const starts = result.chunks.map((c) => new Date(c.rangeStart).getTime());
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    expect(result.chunks.length).toBeGreaterThanOrEqual(11);
  });

  it.runIf(kind === 'embedded')(
    'sizes chunks and rollups from the data directory as the database does, after ingest',
    async () => {
      await expectFileSizesMatchDatabase(db);
    },
  );

  // Regression: on the embedded database pg_total_relation_size stats every fork of every chunk, its
  // indexes and toast through PGlite's file system (20,000 calls for the four sample sets): status took 2 s.
  it.runIf(kind === 'embedded')('status sizes the embedded chunks from the directory walk', async () => {
    const sent: Sql[] = [];
    const query = db.query.bind(db);
    const spy = (sql: Sql | string, values?: unknown[]) => {
      sent.push(typeof sql === 'string' ? { text: sql, values } : sql);
      return query(sql, values);
    };
    db.query = spy as Db['query'];
    try {
      await status(db);
    } finally {
      db.query = query;
    }
    const sizing = sent.filter((q) => q.text.includes('_timescaledb_catalog.chunk'));
    expect(sizing.length).toBe(3); // the readings' chunks' totals, the events' and the rollups'
    for (const q of sizing) {
      expect(q.text).not.toMatch(/pg_total_relation_size\((pc\.oid|to_regclass)/);
      expect(q.values?.some((v) => typeof v === 'string' && v.startsWith('{"'))).toBe(true);
    }
  });

  it.runIf(tsdb)('compress run compresses old chunks one by one; stats shows per-chunk ratios', async () => {
    const dry = await compressRun(db, { olderThan: parseDuration('3d'), dryRun: true });
    expect(dry.chunks.length).toBeGreaterThanOrEqual(7);
    expect(dry.totals.bytesAfter).toBeNull();
    expect(Object.keys(dry)).toEqual(['dryRun', 'cutoff', 'chunks', 'totals', 'seconds']);
    expect(Object.keys(dry.chunks[0]!)).toEqual([
      'chunk',
      'rangeStart',
      'rangeEnd',
      'bytesBefore',
      'bytesAfter',
      'ratio',
    ]);
    expect(Object.keys(dry.totals)).toEqual(['chunks', 'bytesBefore', 'bytesAfter', 'ratio']);
    expect((await stats(db, { sort: 'time' })).totals.compressed).toBe(0);

    const real = await compressRun(db, { olderThan: parseDuration('3d'), dryRun: false });
    expect(real.chunks.map((c) => c.chunk)).toEqual(dry.chunks.map((c) => c.chunk));
    expect(real.totals.bytesAfter).toBeLessThan(real.totals.bytesBefore);

    const after = await stats(db, { sort: 'time' });
    const compressed = after.chunks.filter((c) => c.compressed);
    expect(compressed.map((c) => c.chunk).sort()).toEqual(dry.chunks.map((c) => c.chunk).sort());
    for (const c of compressed) {
      expect(c.ratio).toBeGreaterThan(1);
      expect(c.bytesAfter).toBeLessThan(c.bytesBefore);
      const { rows } = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM iotctl.points WHERE time >= $1 AND time < $2',
        [c.rangeStart, c.rangeEnd],
      );
      expect(c.rowsEstimate).toBe(rows[0]!.n);
    }
    expect(after.totals.compressed).toBe(compressed.length);
    expect(after.totals.ratio).toBeGreaterThan(1);
    // Regression: status counted no rows in compressed chunks (approximate_row_count skips them).
    const st = await status(db);
    expect(st.chunks).toEqual({ total: after.chunks.length, compressed: compressed.length });
    expect(st.rowsEstimate).toBe(after.chunks.reduce((sum, c) => sum + (c.rowsEstimate ?? 0), 0));
    expect(st.rowsEstimate).toBeGreaterThan(0);
    // status adds up in the database what stats lists: the same bytes, and the same rollups (their sizes
    // may have grown meanwhile where a TimescaleDB scheduler runs the refresh policies).
    expect(st.bytes.points).toBe(after.totals.bytesAfter);
    expect(st.bytes.rollups.map((r) => r.name)).toEqual(after.rollups.map((r) => r.name));
    if (kind === 'embedded') expect(st.bytes.rollups).toEqual(after.rollups);
    // Nothing left to do: a second run is a no-op.
    expect((await compressRun(db, { olderThan: parseDuration('3d'), dryRun: false })).chunks).toEqual([]);

    const top = await stats(db, { sort: 'ratio', top: 2 });
    expect(top.chunks.length).toBe(2);
    expect(top.chunks[0]!.ratio).toBeGreaterThanOrEqual(top.chunks[1]!.ratio!);
    expect(top.totals).toEqual(after.totals);
  });

  it.runIf(kind === 'embedded')(
    'sizes compressed chunks and their compressed relations from the data directory as the database does',
    async () => {
      expect((await stats(db, { sort: 'time' })).totals.compressed).toBeGreaterThan(0);
      await expectFileSizesMatchDatabase(db);
    },
  );

  it.runIf(tsdb)('compress undo decompresses by name or by age, and rows read the same', async () => {
    const before = await db.query('SELECT time, series_id, value FROM iotctl.points ORDER BY 1, 2');
    const compressed = (await stats(db, { sort: 'time' })).chunks.filter((c) => c.compressed);
    const newest = compressed[compressed.length - 1]!;
    const one = await compressUndo(db, { chunk: newest.chunk.split('.')[1], dryRun: false });
    expect(one.chunks.map((c) => c.chunk)).toEqual([newest.chunk]);
    const byAge = await compressUndo(db, { newerThan: parseDuration('6d'), dryRun: true });
    expect(byAge.chunks.length).toBeGreaterThanOrEqual(1);
    expect(byAge.chunks.every((c) => new Date(c.rangeEnd).getTime() > Date.now() - 6 * DAY)).toBe(true);
    await compressUndo(db, { newerThan: parseDuration('6d'), dryRun: false });
    const left = (await stats(db, { sort: 'time' })).chunks.filter((c) => c.compressed);
    expect(left.length).toBe(compressed.length - 1 - byAge.chunks.length);
    const afterRows = await db.query('SELECT time, series_id, value FROM iotctl.points ORDER BY 1, 2');
    expect(afterRows.rows).toEqual(before.rows);
    await expect(compressUndo(db, { chunk: 'no_such_chunk', dryRun: false })).rejects.toMatchObject({
      exitCode: 2,
    });
  });

  // Regression: the listing went through timescaledb_information.chunks, chunks_detailed_size and
  // chunk_columnstore_stats, which walk every chunk of every hypertable and stat each file twice: `status`
  // and `stats` took 7 s on the embedded store of the four sample sets. The catalog reads must report the same.
  it.runIf(tsdb)(
    'reads chunks and rollup sizes from the catalog as the information views report them',
    async () => {
      const reference = (olderThan?: Date) => ({
        text: `SELECT c.chunk_schema || '.' || c.chunk_name AS chunk, c.range_start, c.range_end,
         c.is_compressed AS compressed,
         (CASE WHEN c.is_compressed THEN z.numrows_pre_compression
               WHEN pc.reltuples >= 0 THEN pc.reltuples END)::bigint AS rows_estimate,
         coalesce(st.before_compression_total_bytes, d.total_bytes)::bigint AS bytes_before,
         coalesce(d.total_bytes, 0)::bigint AS bytes
    FROM show_chunks($1::regclass${olderThan ? ', older_than => $2::timestamptz' : ''}) sc
    JOIN pg_class pc ON pc.oid = sc
    JOIN pg_namespace pn ON pn.oid = pc.relnamespace
    JOIN timescaledb_information.chunks c ON c.chunk_schema = pn.nspname AND c.chunk_name = pc.relname
    JOIN _timescaledb_catalog.chunk ch ON ch.schema_name = c.chunk_schema AND ch.table_name = c.chunk_name
    LEFT JOIN _timescaledb_catalog.compression_chunk_size z ON z.chunk_id = ch.id
    LEFT JOIN chunks_detailed_size($1::regclass) d ON d.chunk_schema = c.chunk_schema AND d.chunk_name = c.chunk_name
    LEFT JOIN chunk_columnstore_stats($1::regclass) st ON st.chunk_schema = c.chunk_schema
     AND st.chunk_name = c.chunk_name AND st.compression_status = 'Compressed'
   ORDER BY c.range_start`,
        values: olderThan ? ['iotctl.points', olderThan] : ['iotctl.points'],
      });
      const store = await loadStore(db);
      const listed = await store.engine.listChunks(db, 'points');
      expect(listed.some((c) => c.compressed) && listed.some((c) => !c.compressed)).toBe(true);
      await db.query('ANALYZE iotctl.points');
      const analysed = await store.engine.listChunks(db, 'points');
      expect(analysed.some((c) => !c.compressed && c.rows_estimate !== null)).toBe(true);
      expect(analysed).toEqual((await db.query(reference())).rows);
      const cutoff = new Date(Date.now() - 5 * DAY);
      expect(await store.engine.listChunks(db, 'points', cutoff)).toEqual(
        (await db.query(reference(cutoff))).rows,
      );
      const sizes = await db.query<{ name: string; bytes: number }>(
        `SELECT view_name AS name, hypertable_size(format('%I.%I', materialization_hypertable_schema,
              materialization_hypertable_name)::regclass)::bigint AS bytes
         FROM timescaledb_information.continuous_aggregates WHERE view_schema = 'iotctl'`,
      );
      expect((await stats(db, { sort: 'time' })).rollups).toEqual(
        sizes.rows.map((r) => ({ name: r.name, bytes: Number(r.bytes) })),
      );
    },
  );
});
