// Native partitions (plain mode, and Citus, whose partitions of points are distributed as they are created):
// two creators at once (cron's maintain beside an ingest) both succeed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PartitionManager } from '../../src/db/partitions.js';
import { listPartitions } from '../../src/db/sql/partitions.js';
import type { Db } from '../../src/db/types.js';
import { initTestStore } from '../helpers/store.js';
import { citusKinds, makeTarget, type TargetKind, type TestTarget } from '../helpers/targets.js';

const HOUR = 3_600_000;

describe.each(['server', ...citusKinds] as TargetKind[])('native partitions on the %s target', (kind) => {
  let target: TestTarget;
  let a: Db;
  let b: Db;
  beforeAll(async () => {
    target = await makeTarget(kind);
    a = await target.open();
    b = await target.open();
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await target.cleanup();
  });

  it('concurrent creators of the same partitions both succeed, and every partition exists once', async () => {
    const store = await initTestStore(a, 'none');
    if (store.mode === 'timescaledb') return; // an external TimescaleDB server: hypertable chunks instead
    const before = (await a.query(listPartitions())).rows.length;
    const times = Array.from({ length: 40 }, (_, i) => Date.UTC(2020, 0, 1) + i * HOUR);
    const [ca, cb] = await Promise.all([
      new PartitionManager(a, HOUR).ensureFor(times),
      new PartitionManager(b, HOUR).ensureFor(times),
    ]);
    expect(ca + cb).toBeGreaterThanOrEqual(40);
    expect((await a.query(listPartitions())).rows.length).toBe(before + 40);
  });
});
