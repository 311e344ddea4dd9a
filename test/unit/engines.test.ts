// The storage engines as a list: each one answers for itself, and nothing outside the selection point asks
// which engine a store has.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Capabilities } from '../../src/db/types.js';
import { engineFor, engineNames } from '../../src/engine/index.js';
import { parseDuration } from '../../src/util/duration.js';

const caps: Capabilities = {
  serverVersion: '17.5',
  serverVersionNum: 170005,
  timescale: { state: 'installed', version: '2.23.0', license: 'timescale' },
  citus: '13.2-1',
};

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('storage engines', () => {
  it.each(engineNames)('%s builds a complete schema of Sql statements', (name) => {
    const engine = engineFor(name, caps);
    expect(engine.name).toBe(name);
    expect(engine.label).not.toBe('');
    const steps = engine.schemaSteps({ chunkInterval: parseDuration('1d'), rollups: [parseDuration('1h')] });
    const objects = steps.map((s) => s.object.split(' (')[0]);
    for (const common of [
      'schema iotctl',
      'table iotctl.meta',
      'table iotctl.series',
      'table iotctl.points',
      'index iotctl.points_series_time_uq',
      'view iotctl.readings',
      'table iotctl.job_runs',
      'table iotctl.policies',
      'rollup iotctl.rollup_1h',
    ]) {
      expect(objects).toContain(common);
    }
    // Each table exists before what refers to it.
    expect(objects.indexOf('table iotctl.points')).toBeLessThan(objects.indexOf('view iotctl.readings'));
    for (const step of steps) {
      expect(step.exists.text).toMatch(/AS exists$/);
      for (const s of step.statements) expect(s.text.length).toBeGreaterThan(0);
    }
    expect(engine.bucketExpr('1 hours', 'r.time')).toContain('r.time');
    expect(engine.retentionCutoffs().text).toMatch(/AS cutoff/);
  });

  it('a new store gets day chunks, a Citus one week partitions (columnar compresses a week per shard better)', () => {
    expect(engineNames.map((n) => [n, engineFor(n, caps).defaultChunkInterval.text])).toEqual([
      ['timescaledb', '1d'],
      ['plain', '1d'],
      ['citus', '7d'],
    ]);
  });

  it('only TimescaleDB compresses; plain refuses compression statements with NEEDS_TIMESCALEDB', () => {
    const plain = engineFor('plain', caps);
    expect(plain.compresses).toBe(false);
    expect(() => plain.compressChunk('iotctl.points_p20260101_0000')).toThrow(/needs TimescaleDB/);
    expect(() => plain.chunkIntervalChange(parseDuration('1d'), parseDuration('6h'))).toThrow(
      /cannot change the interval/,
    );
    const tsdb = engineFor('timescaledb', caps);
    expect(tsdb.compresses).toBe(true);
    expect(tsdb.compressChunk('_timescaledb_internal._hyper_1_1_chunk').text).toMatch(
      /convert_to_columnstore/,
    );
  });

  it('a TimescaleDB store on a server without TimescaleDB is a clear error, not a crash', () => {
    const none: Capabilities = { ...caps, timescale: { state: 'absent', version: null, license: null } };
    expect(() => engineFor('timescaledb', none)).toThrow(/does not have/);
  });

  it('nothing outside the engine selection point branches on the engine name', () => {
    const src = path.resolve(import.meta.dirname, '../../src');
    const offenders = sourceFiles(src)
      .filter((f) => !f.endsWith(path.join('engine', 'index.ts')))
      .flatMap((f) =>
        fs
          .readFileSync(f, 'utf8')
          .split('\n')
          .map((line, i) => ({ f: path.relative(src, f), i: i + 1, line }))
          .filter(({ line }) =>
            /\bmode\s*[!=]==|\bname\s*[!=]==\s*'(plain|timescaledb)'|\.tsdb\b/.test(line),
          ),
      );
    expect(offenders.map((o) => `${o.f}:${o.i}: ${o.line.trim()}`)).toEqual([]);
  });
});
