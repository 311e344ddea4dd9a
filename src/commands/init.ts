// `iotctl init`: idempotent set-up of the readings store, rollups and optional policies.
import type { Command } from 'commander';
import { PartitionManager } from '../db/partitions.js';
import { META, schemaSteps, type InitOptions, rollupName } from '../db/sql/schema.js';
import { parseTsdbVersion, setChunkInterval, type TsdbVersion } from '../db/sql/timescale.js';
import {
  SCHEMA_VERSION,
  readStoredConfig,
  serialiseConfig,
  storeModeFor,
  type StoreConfig,
} from '../db/store.js';
import type { Db, Sql } from '../db/types.js';
import { IotctlError, usageError } from '../errors.js';
import { log } from '../output/log.js';
import { printLine, printRows } from '../output/render.js';
import { parseDuration, type Duration } from '../util/duration.js';
import { examples, givenByUser, globalOptions, withDb } from './common.js';

export interface InitCommandOptions extends InitOptions {
  dryRun: boolean;
  plain: boolean;
  /** Which options the user typed; others come from the stored config when there is one. */
  explicit: { chunkInterval: boolean; rollups: boolean };
}

export type ObjectStatus = 'created' | 'exists' | 'updated' | 'would create' | 'would update' | 'skipped';

export interface InitResult {
  target: string;
  targetKind: 'server' | 'embedded';
  mode: 'timescaledb' | 'plain';
  timescaledb: string | null;
  dryRun: boolean;
  changed: boolean;
  objects: Array<{ object: string; status: ObjectStatus; note?: string }>;
  /** With --dry-run: every statement that would run, in order. */
  sql: string[];
}

const sqlText = (s: Sql | string) => (typeof s === 'string' ? s : s.text);

export function parseRollups(text: string): Duration[] {
  if (text.trim() === '' || text.trim() === 'none') return [];
  const list = text.split(',').map((t) => parseDuration(t, 'rollup interval'));
  const seen = new Set<number>();
  for (const d of list) {
    if (seen.has(d.ms)) throw usageError(`rollup ${d.text} is listed twice`);
    seen.add(d.ms);
  }
  return list.sort((a, b) => a.ms - b.ms);
}

export async function init(db: Db, opts: InitCommandOptions): Promise<InitResult> {
  let caps = await db.capabilities();
  const stored = await readStoredConfig(db);
  const objects: InitResult['objects'] = [];
  const sql: string[] = [];
  let mode = stored?.mode ?? (opts.plain ? 'plain' : storeModeFor(caps));
  let changed = false;

  const run = async (statements: Array<Sql | string>) => {
    for (const s of statements) {
      sql.push(sqlText(s));
      if (!opts.dryRun) await db.query(s);
    }
  };

  if (mode === 'timescaledb' && caps.timescale.state === 'available') {
    const statement = 'CREATE EXTENSION IF NOT EXISTS timescaledb';
    if (opts.dryRun) {
      objects.push({ object: 'extension timescaledb', status: 'would create' });
      sql.push(statement);
    } else {
      try {
        await db.exec(statement);
      } catch (err) {
        if (err instanceof IotctlError && err.code === 'PERMISSION') {
          throw new IotctlError(
            'PERMISSION',
            `cannot create the timescaledb extension on ${db.target.display}`,
            {
              hint: 'it needs a superuser or the CREATE privilege on the database; run `CREATE EXTENSION timescaledb` as one, or use --plain',
            },
          );
        }
        throw err;
      }
      objects.push({ object: 'extension timescaledb', status: 'created' });
      changed = true;
      caps = await db.capabilities({ refresh: true });
    }
  }
  if (mode === 'timescaledb' && caps.timescale.license === 'apache') {
    log.warn(
      'this TimescaleDB has the Apache licence: compression, retention and refresh policies need the community licence',
    );
  }
  const tsdb: TsdbVersion | undefined =
    mode === 'timescaledb' && caps.timescale.version ? parseTsdbVersion(caps.timescale.version) : undefined;
  if (mode === 'timescaledb' && !tsdb) mode = 'plain';

  const config: StoreConfig = {
    mode,
    chunkInterval: stored && !opts.explicit.chunkInterval ? stored.chunkInterval : opts.chunkInterval,
    rollups: (stored && !opts.explicit.rollups ? stored.rollups.map((r) => r.bucket) : opts.rollups).map(
      (bucket) => ({
        name: rollupName(bucket),
        bucket,
      }),
    ),
    schemaVersion: SCHEMA_VERSION,
  };

  const steps = schemaSteps(
    mode,
    {
      chunkInterval: config.chunkInterval,
      rollups: config.rollups.map((r) => r.bucket),
      compressAfter: opts.compressAfter,
      retention: opts.retention,
    },
    tsdb,
  );
  for (const step of steps) {
    let exists = false;
    try {
      exists = !!(await db.query<{ exists: boolean }>(step.exists)).rows[0]?.exists;
    } catch (err) {
      // In a dry run the extension may not exist yet, so its catalog views cannot be read.
      if (!opts.dryRun) throw err;
    }
    if (exists) {
      objects.push({ object: step.object, status: 'exists' });
      continue;
    }
    await run(step.statements);
    objects.push({ object: step.object, status: opts.dryRun ? 'would create' : 'created' });
    changed = true;
  }

  if (opts.compressAfter && mode === 'plain') {
    objects.push({
      object: 'compression policy',
      status: 'skipped',
      note: 'compression needs TimescaleDB; plain PostgreSQL mode stores partitions uncompressed',
    });
  }

  if (stored && stored.chunkInterval.ms !== config.chunkInterval.ms) {
    if (mode === 'plain') {
      throw usageError(
        `this store uses ${stored.chunkInterval.text} partitions; plain PostgreSQL mode cannot change the interval`,
      );
    }
    await run([setChunkInterval('iotctl.points', config.chunkInterval.interval)]);
    objects.push({
      object: `chunk interval ${stored.chunkInterval.text} -> ${config.chunkInterval.text}`,
      status: opts.dryRun ? 'would update' : 'updated',
      note: 'applies to chunks created from now on',
    });
    changed = true;
  }
  if (stored) {
    const dropped = stored.rollups.filter((r) => !config.rollups.some((c) => c.name === r.name));
    for (const r of dropped) {
      objects.push({
        object: `rollup iotctl.${r.name}`,
        status: 'exists',
        note: 'not in --rollups; kept (drop it by hand)',
      });
    }
    config.rollups = [...config.rollups, ...dropped].sort((a, b) => a.bucket.ms - b.bucket.ms);
  }

  const configValue = serialiseConfig(config);
  if (!stored || JSON.stringify(serialiseConfig(stored)) !== JSON.stringify(configValue)) {
    await run([
      {
        text: `INSERT INTO ${META} (key, value) VALUES ('config', $1::jsonb)
               ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
        values: [JSON.stringify(configValue)],
      },
    ]);
    changed = true;
  }

  if (mode === 'plain' && !opts.dryRun) {
    const created = await new PartitionManager(db, config.chunkInterval.ms).ensureAhead(Date.now(), 7);
    if (created > 0) {
      objects.push({
        object: `partitions of iotctl.points (now + 7 ahead)`,
        status: 'created',
        note: `${created} new`,
      });
      changed = true;
    }
  }

  return {
    target: db.target.display,
    targetKind: db.target.kind,
    mode,
    timescaledb: mode === 'timescaledb' ? caps.timescale.version : null,
    dryRun: opts.dryRun,
    changed,
    objects,
    sql: opts.dryRun ? sql : [],
  };
}

export function registerInit(program: Command): void {
  const cmd = program
    .command('init')
    .description('create or update the iotctl schema (idempotent: a second run changes nothing)')
    .option('--chunk-interval <duration>', 'time range of one chunk (partition)', '1d')
    .option('--rollups <list>', 'rollup bucket sizes, comma-separated, or "none"', '1m,1h,1d')
    .option('--compress-after <duration>', 'add a compression policy: compress chunks older than this')
    .option('--retention <duration>', 'add a retention policy: drop chunks older than this')
    .option('--plain', 'use plain PostgreSQL partitioning even where TimescaleDB is available')
    .option('--dry-run', 'print the SQL that would run; change nothing')
    .action(async (o, command: Command) => {
      const g = globalOptions(command);
      const opts: InitCommandOptions = {
        chunkInterval: parseDuration(o.chunkInterval, '--chunk-interval'),
        rollups: parseRollups(o.rollups),
        compressAfter: o.compressAfter ? parseDuration(o.compressAfter, '--compress-after') : undefined,
        retention: o.retention ? parseDuration(o.retention, '--retention') : undefined,
        dryRun: !!o.dryRun,
        plain: !!o.plain,
        explicit: {
          chunkInterval: givenByUser(command, 'chunkInterval'),
          rollups: givenByUser(command, 'rollups'),
        },
      };
      const result = await withDb(g, (db) => init(db, opts));
      if (g.format === 'json') return printRows('json', [], [], result);
      if (opts.dryRun) {
        await printLine(
          result.sql.length ? result.sql.map((s) => s.trim() + ';').join('\n\n') : '-- nothing to do',
        );
        return;
      }
      await printRows(g.format, result.objects, [
        { key: 'object' },
        { key: 'status' },
        { key: 'note', format: (v) => (v ? String(v) : '') },
      ]);
      if (g.format === 'table') {
        const where =
          result.targetKind === 'embedded' ? `embedded database in ${result.target}` : result.target;
        const modeText =
          result.mode === 'timescaledb' ? `TimescaleDB ${result.timescaledb}` : 'plain PostgreSQL mode';
        await printLine(
          result.changed
            ? `iotctl is set up on ${where} (${modeText}).`
            : `Nothing changed: iotctl was already set up on ${where} (${modeText}).`,
        );
      }
    });
  examples(cmd, [
    'iotctl init',
    'iotctl init --db postgres://iot@db.example.com/iot --compress-after 7d --retention 90d',
    'iotctl init --chunk-interval 6h --rollups 5m,1h,1d --dry-run',
  ]);
}
