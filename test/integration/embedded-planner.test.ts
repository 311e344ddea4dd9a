// The embedded engine's planner settings. PGlite starts its backend with `enable_seqscan = off` on its
// command line, so every embedded plan that read a whole chunk was costed as an index scan (a seq-scan
// cost of 1e10 in every EXPLAIN) and picked bitmap or index scans where a server reads the table.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/connect.js';
import type { Db } from '../../src/db/types.js';
import { tempDataDir } from '../helpers/targets.js';

describe('embedded planner settings', () => {
  let dir: string;
  let db: Db;
  beforeAll(async () => {
    dir = tempDataDir();
    db = await openDb({ db: dir });
  });
  afterAll(async () => {
    await db.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('embedded sessions plan sequential scans (PGlite starts with enable_seqscan off)', async () => {
    const { rows } = await db.query<{ enable_seqscan: string }>('SHOW enable_seqscan');
    expect(rows[0]?.enable_seqscan).toBe('on');
    await db.exec('CREATE TABLE planner_probe (id int PRIMARY KEY, v float8)');
    await db.exec('INSERT INTO planner_probe SELECT g, g FROM generate_series(1, 5000) g');
    await db.exec('ANALYZE planner_probe');
    const plan = await db.query<{ 'QUERY PLAN': string }>('EXPLAIN SELECT avg(v) FROM planner_probe');
    const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toMatch(/Seq Scan on planner_probe/);
    expect(text).not.toMatch(/cost=1\d{10}/);
  });
});
