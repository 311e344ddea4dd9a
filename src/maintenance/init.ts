// `iotctl init`: idempotent set-up of the readings store, rollups and optional policies. The same steps
// serve the real run and --dry-run, which records the statements instead of running them.
import { sameInterval } from '../db/sql/maintenance.js';
import {
  COUNTER_SCHEMA_VERSION,
  rollupName,
  upsertConfig,
  type InitOptions,
  type SchemaStep,
} from '../db/sql/schema.js';
import { SCHEMA_VERSION, loadStore, readStoredConfig, serialiseConfig } from '../db/store.js';
import type { Db, Sql } from '../db/types.js';
import { defaultEngineName, engineFor } from '../engine/index.js';
import type { EngineName, InitObject, StorageEngine, StoreConfig } from '../engine/types.js';
import { IotctlError, usageError } from '../errors.js';
import { findPolicy, setPolicy } from './policies.js';
import { formatDurationMs, parseDuration, type Duration } from '../util/duration.js';
import { qualified } from '../db/sql/ident.js';
import { chunkIntervalFor, rollupFinerThanCadence } from './cadence.js';

export interface InitCommandOptions extends InitOptions {
  dryRun: boolean;
  plain: boolean;
  /** --cadence: the readings' usual interval; rollups at or below it are skipped, the chunk interval fits it. */
  cadence?: Duration;
  /** --engine: the engine of a new store (--plain is `plain`); a store keeps the engine it was set up with. */
  engine?: EngineName;
  /** Which options the user typed; others come from the stored config when there is one. */
  explicit: { chunkInterval: boolean; rollups: boolean };
  onNotice?: (message: string) => void;
}

export type ObjectStatus = InitObject['status'];

export interface InitResult {
  target: string;
  targetKind: 'server' | 'embedded';
  mode: EngineName;
  /** For people: `TimescaleDB 2.23.0`, `plain PostgreSQL mode`, `Citus 13.2-1`. */
  engine: string;
  timescaledb: string | null;
  dryRun: boolean;
  changed: boolean;
  objects: InitObject[];
  /** With --dry-run: every statement that would run, in order. */
  sql: string[];
}

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
  const onNotice = opts.onNotice ?? (() => undefined);
  let caps = await db.capabilities();
  const stored = await readStoredConfig(db);
  if (opts.plain && opts.engine && opts.engine !== 'plain')
    throw usageError(`--plain and --engine ${opts.engine} contradict each other`);
  if (stored && opts.engine && opts.engine !== stored.mode) {
    throw usageError(
      `this store was set up with the ${stored.mode} engine; --engine ${opts.engine} cannot change it`,
      'to move engines, export the readings and ingest them into a new store',
    );
  }
  const mode = stored?.mode ?? opts.engine ?? (opts.plain ? 'plain' : defaultEngineName(caps));
  const objects: InitObject[] = [];
  const sql: string[] = [];
  const run = async (statements: Sql[]) => {
    for (const s of statements) {
      sql.push(s.text);
      if (!opts.dryRun) await db.query(s);
    }
  };
  const report = (o: InitObject[]) => objects.push(...o);

  let engine: StorageEngine = engineFor(mode, caps);
  report(await engine.prepare(db, { dryRun: opts.dryRun, sql, onNotice }));
  if (objects.some((o) => o.status === 'created')) {
    // The extension was created: its version is the installed one now.
    caps = await db.capabilities({ refresh: true });
    engine = engineFor(mode, caps);
  }

  const cadence = opts.cadence;
  let chunkInterval =
    stored && !opts.explicit.chunkInterval
      ? stored.chunkInterval
      : opts.explicit.chunkInterval
        ? opts.chunkInterval
        : engine.defaultChunkInterval;
  if (cadence && !stored && !opts.explicit.chunkInterval) chunkInterval = chunkIntervalFor(cadence.ms);
  let buckets = stored && !opts.explicit.rollups ? stored.rollups.map((r) => r.bucket) : opts.rollups;
  if (cadence) {
    const stays = (b: Duration) =>
      !rollupFinerThanCadence(b, cadence.ms) || !!stored?.rollups.some((r) => r.bucket.ms === b.ms);
    for (const b of buckets) {
      const name = `rollup ${qualified(rollupName(b))}`;
      if (!rollupFinerThanCadence(b, cadence.ms)) continue;
      report([
        stays(b)
          ? { object: name, status: 'exists', note: `not coarser than the cadence (${cadence.text}); kept` }
          : {
              object: name,
              status: 'skipped',
              note: `not coarser than the cadence (${cadence.text}): it would hold one row per reading`,
            },
      ]);
    }
    buckets = buckets.filter(stays);
  }
  const config: StoreConfig = {
    mode,
    chunkInterval,
    rollups: buckets.map((bucket) => ({ name: rollupName(bucket), bucket })),
    schemaVersion: SCHEMA_VERSION,
  };

  const upgrade = stored ? await counterUpgrade(db, engine, stored) : { steps: [], objects: [] };
  report(upgrade.objects);
  if (upgrade.keep !== undefined) config.schemaVersion = upgrade.keep;
  for (const step of [
    ...upgrade.steps,
    ...engine.schemaSteps({
      ...opts,
      ...config,
      rollups: config.rollups.map((r) => r.bucket),
      counters: config.schemaVersion >= COUNTER_SCHEMA_VERSION,
    }),
  ]) {
    let exists = false;
    try {
      exists = !!(await db.query<{ exists: boolean }>(step.exists)).rows[0]?.exists;
    } catch (err) {
      // In a dry run the extension may not exist yet, so its catalog views cannot be read.
      if (!opts.dryRun) throw err;
    }
    if (!exists) await run(step.statements);
    report([{ object: step.object, status: exists ? 'exists' : opts.dryRun ? 'would create' : 'created' }]);
  }

  if (opts.compressAfter && !engine.compresses) {
    report([
      {
        object: 'compression policy',
        status: 'skipped',
        note: 'compression needs TimescaleDB; plain PostgreSQL mode stores partitions uncompressed',
      },
    ]);
  }
  if (stored && stored.chunkInterval.ms !== config.chunkInterval.ms) {
    await run([engine.chunkIntervalChange(stored.chunkInterval, config.chunkInterval)]);
    report([
      {
        object: `chunk interval ${stored.chunkInterval.text} -> ${config.chunkInterval.text}`,
        status: opts.dryRun ? 'would update' : 'updated',
        note: 'applies to chunks created from now on',
      },
    ]);
  }
  if (stored) {
    const dropped = stored.rollups.filter((r) => !config.rollups.some((c) => c.name === r.name));
    report(
      dropped.map((r) => ({
        object: `rollup iotctl.${r.name}`,
        status: 'exists' as const,
        note: 'not in --rollups; kept (drop it by hand)',
      })),
    );
    config.rollups = [...config.rollups, ...dropped].sort((a, b) => a.bucket.ms - b.bucket.ms);
  }
  const configValue = serialiseConfig(config);
  let configChanged = false;
  if (!stored || JSON.stringify(serialiseConfig(stored)) !== JSON.stringify(configValue)) {
    await run([upsertConfig(configValue)]);
    configChanged = true;
  }

  const policies = await initPolicies(db, engine, stored !== null, opts, sql);
  report(policies);
  if (opts.retention && policies.some((o) => o.object.startsWith('retention') && /create/.test(o.status))) {
    report(await rollupRetentionDefaults(db, engine, config, opts.retention, opts.dryRun, sql));
  }
  if (!opts.dryRun) {
    // Rollups added by this run get the refresh window their source's retention allows.
    const store = await loadStore(db);
    if ((await engine.syncRefreshPolicies(db, store, onNotice)).length) configChanged = true;
  }
  report(await engine.afterInit(db, config, opts.dryRun));

  return {
    target: db.target.display,
    targetKind: db.target.kind,
    mode,
    engine: engine.label,
    timescaledb: engine.timescaleVersion,
    dryRun: opts.dryRun,
    changed: configChanged || objects.some((o) => !['exists', 'skipped'].includes(o.status)),
    objects,
    sql: opts.dryRun ? sql : [],
  };
}

/**
 * A schema 1 store's rollups lack the counter columns (first, last, increase). Adding them means recomputing
 * the rollups from their sources (plain: in place at the next refresh; TimescaleDB: a continuous aggregate is
 * created again). Where a retention policy has dropped source rows a rollup still holds, that would lose
 * history: then the store stays at its schema version (`keep`) and increase / rate read raw readings.
 */
async function counterUpgrade(
  db: Db,
  engine: StorageEngine,
  stored: StoreConfig,
): Promise<{ steps: SchemaStep[]; objects: InitObject[]; keep?: number }> {
  if (stored.schemaVersion >= COUNTER_SCHEMA_VERSION || stored.rollups.length === 0)
    return { steps: [], objects: [] };
  const { rows } = await db.query<{ target: string }>(engine.retentionCutoffs());
  if (rows.length > 0) {
    const object = `counter columns on ${stored.rollups.map((r) => qualified(r.name)).join(', ')}`;
    const note = `not added: rebuilding the rollups would lose what retention (${rows.map((r) => r.target).join(', ')}) dropped from their sources; increase and rate read raw readings`;
    return { steps: [], objects: [{ object, status: 'skipped', note }], keep: stored.schemaVersion };
  }
  return { steps: engine.counterUpgradeSteps(stored.rollups.map((r) => r.bucket)), objects: [] };
}

/**
 * The --compress-after / --retention policies: set through setPolicy, so a changed age replaces the policy and
 * is reported as updated; with --dry-run, what would happen and the statement it would run.
 */
async function initPolicies(
  db: Db,
  engine: StorageEngine,
  initialised: boolean,
  opts: InitCommandOptions,
  sql: string[],
): Promise<InitObject[]> {
  const wanted: Array<{ kind: 'compression' | 'retention'; value: Duration; object: string }> = [];
  if (opts.compressAfter && engine.compresses) {
    const object = `compression policy on iotctl.points (after ${opts.compressAfter.text})`;
    wanted.push({ kind: 'compression', value: opts.compressAfter, object });
  }
  if (opts.retention) {
    const verb = engine.compresses ? 'drop' : 'drop partitions';
    const object = `retention policy on iotctl.points (${verb} after ${opts.retention.text})`;
    wanted.push({ kind: 'retention', value: opts.retention, object });
  }
  const store = wanted.length && initialised ? await loadStore(db) : null;
  const objects: InitObject[] = [];
  for (const w of wanted) {
    if (!opts.dryRun) {
      const change = await setPolicy(db, store ?? (await loadStore(db)), w.kind, 'points', w.value);
      if (change.status === 'unchanged')
        objects.push({ object: w.object, status: 'exists', note: 'unchanged' });
      else if (change.status === 'updated')
        objects.push({ object: w.object, status: 'updated', note: `now ${w.value.text}` });
      else objects.push({ object: w.object, status: 'created' });
      continue;
    }
    const existing = store ? await findPolicy(db, store, w.kind, 'points') : undefined;
    const same =
      existing &&
      (await db.query<{ same: boolean }>(sameInterval(existing.after ?? '0', w.value.interval))).rows[0]
        ?.same;
    if (existing && same) {
      objects.push({ object: w.object, status: 'exists', note: 'unchanged' });
      continue;
    }
    sql.push(engine.policyStatement(w.kind, 'points', w.value).text);
    objects.push({ object: w.object, status: existing ? 'would update' : 'would create' });
  }
  return objects;
}

/** Each rollup but the coarsest keeps this many times as long as its source (the readings for the finest). */
export const ROLLUP_RETENTION_FACTOR = 4;

/**
 * The retention a rollup gets by default when init creates the readings' retention policy: the finest rollup
 * keeps ROLLUP_RETENTION_FACTOR times the readings' age, each coarser one that factor times the one before,
 * and the coarsest keeps everything. Rollups that already have a retention policy keep theirs.
 */
export function rollupRetentionAges(config: Pick<StoreConfig, 'rollups'>, retention: Duration): Duration[] {
  return config.rollups
    .slice(0, -1)
    .map((_, i) => parseDuration(formatDurationMs(retention.ms * ROLLUP_RETENTION_FACTOR ** (i + 1))));
}

async function rollupRetentionDefaults(
  db: Db,
  engine: StorageEngine,
  config: StoreConfig,
  retention: Duration,
  dryRun: boolean,
  sql: string[],
): Promise<InitObject[]> {
  const ages = rollupRetentionAges(config, retention);
  const objects: InitObject[] = [];
  const store = dryRun ? null : await loadStore(db);
  for (const [i, age] of ages.entries()) {
    const rollup = config.rollups[i] as StoreConfig['rollups'][number];
    const object = `retention policy on ${qualified(rollup.name)} (drop after ${age.text}, ${ROLLUP_RETENTION_FACTOR}x its source's)`;
    if (!store) {
      sql.push(engine.policyStatement('retention', rollup.name, age).text);
      objects.push({ object, status: 'would create' });
      continue;
    }
    if (await findPolicy(db, store, 'retention', rollup.name)) {
      objects.push({ object, status: 'exists', note: 'it has its own retention policy; kept' });
      continue;
    }
    try {
      await setPolicy(db, store, 'retention', rollup.name, age);
    } catch (err) {
      // Too short for the rollup refreshed from this one (a very short --retention): that rollup keeps all.
      if (!(err instanceof IotctlError) || err.exitCode !== 2) throw err;
      objects.push({ object, status: 'skipped', note: err.message });
      continue;
    }
    objects.push({ object, status: 'created' });
  }
  return objects;
}
