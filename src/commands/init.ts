// `iotctl init`: idempotent set-up of the readings store, rollups and optional policies.
import type { Command } from 'commander';
import { PartitionManager } from '../db/partitions.js';
import { sameInterval, upsertPlainPolicy } from '../db/sql/maintenance.js';
import { PARTITIONS_AHEAD } from '../db/sql/partitions.js';
import { META, POINTS, schemaSteps, type InitOptions, rollupName, type StoreMode } from '../db/sql/schema.js';
import {
  addCompressionPolicy,
  addRetentionPolicy,
  parseTsdbVersion,
  setChunkInterval,
  type TsdbVersion,
} from '../db/sql/timescale.js';
import {
  SCHEMA_VERSION,
  loadStore,
  readStoredConfig,
  serialiseConfig,
  storeModeFor,
  type Store,
  type StoreConfig,
} from '../db/store.js';
import { findPolicy, setPolicy, syncRefreshPolicies } from '../maintenance/policies.js';
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

  if (!opts.dryRun) {
    const store = await loadStore(db);
    for (const p of await applyPolicies(db, store, opts)) {
      objects.push(p);
      if (p.status !== 'exists') changed = true;
    }
    // Rollups added by this run get the refresh window their source's retention allows.
    if ((await syncRefreshPolicies(db, store)).length) changed = true;
  } else {
    for (const p of await planPolicies(db, stored !== null, mode, opts, tsdb)) {
      objects.push(p.object);
      sql.push(...p.sql);
    }
  }

  if (mode === 'plain' && !opts.dryRun) {
    const created = await new PartitionManager(db, config.chunkInterval.ms).ensureAhead(
      Date.now(),
      PARTITIONS_AHEAD,
    );
    if (created > 0) {
      objects.push({
        object: `partitions of iotctl.points (now + ${PARTITIONS_AHEAD} ahead)`,
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

type InitObject = InitResult['objects'][number];

/** The --compress-after / --retention policies asked for (compression only on TimescaleDB). */
function wantedPolicies(mode: StoreMode, opts: InitCommandOptions) {
  const wanted: Array<{ kind: 'compression' | 'retention'; value: Duration; object: string }> = [];
  if (opts.compressAfter && mode === 'timescaledb') {
    wanted.push({
      kind: 'compression',
      value: opts.compressAfter,
      object: `compression policy on ${POINTS} (after ${opts.compressAfter.text})`,
    });
  }
  if (opts.retention) {
    wanted.push({
      kind: 'retention',
      value: opts.retention,
      object: `retention policy on ${POINTS} (${mode === 'plain' ? 'drop partitions' : 'drop'} after ${opts.retention.text})`,
    });
  }
  return wanted;
}

/** Sets the policies through setPolicy, so a changed age replaces the policy (and is reported as updated). */
async function applyPolicies(db: Db, store: Store, opts: InitCommandOptions): Promise<InitObject[]> {
  const objects: InitObject[] = [];
  for (const w of wantedPolicies(store.mode, opts)) {
    const change = await setPolicy(db, store, w.kind, 'points', w.value);
    if (change.status === 'unchanged')
      objects.push({ object: w.object, status: 'exists', note: 'unchanged' });
    else if (change.status === 'updated')
      objects.push({ object: w.object, status: 'updated', note: `now ${w.value.text}` });
    else objects.push({ object: w.object, status: 'created' });
  }
  return objects;
}

/** --dry-run: what applyPolicies would do, with the statement it would run. */
async function planPolicies(
  db: Db,
  initialised: boolean,
  mode: StoreMode,
  opts: InitCommandOptions,
  tsdb?: TsdbVersion,
): Promise<Array<{ object: InitObject; sql: string[] }>> {
  const store = initialised ? await loadStore(db) : null;
  const plans: Array<{ object: InitObject; sql: string[] }> = [];
  for (const w of wantedPolicies(mode, opts)) {
    const existing = store ? await findPolicy(db, store, w.kind, 'points') : undefined;
    const same = existing
      ? (await db.query<{ same: boolean }>(sameInterval(existing.after ?? '0', w.value.interval))).rows[0]
          ?.same
      : false;
    if (existing && same) {
      plans.push({ object: { object: w.object, status: 'exists', note: 'unchanged' }, sql: [] });
      continue;
    }
    const statement =
      mode === 'plain'
        ? upsertPlainPolicy('retention', 'points', w.value.interval, '1 day').text
        : w.kind === 'compression'
          ? addCompressionPolicy(tsdb as TsdbVersion, POINTS, w.value.interval).text
          : addRetentionPolicy(POINTS, w.value.interval).text;
    plans.push({
      object: { object: w.object, status: existing ? 'would update' : 'would create' },
      sql: [statement],
    });
  }
  return plans;
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
