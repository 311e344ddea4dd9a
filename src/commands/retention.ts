// `iotctl retention`: retention policies for the readings and for rollups, and dropping expired chunks now.
import type { Command } from 'commander';
import type { ChunkRow } from '../db/sql/maintenance.js';
import { loadStore } from '../db/store.js';
import type { Db } from '../db/types.js';
import { usageError } from '../errors.js';
import { printRetentionResult } from '../output/retention.js';
import { findPolicy, removePolicy, setPolicy, showPolicies } from '../maintenance/policies.js';
import { withMaintenanceLock } from '../maintenance/lock.js';
import { applyRetention, dbCutoff, retentionTarget, type HeldBack } from '../maintenance/retention.js';
import { parseDuration, type Duration } from '../util/duration.js';
import { printPolicies, printPolicyChange } from '../output/maintenance.js';
import { examples, globalOptions, withDb } from './common.js';

export interface RetentionResult {
  target: string;
  dryRun: boolean;
  olderThan: string;
  cutoff: Date;
  chunks: Array<{
    chunk: string;
    rangeStart: Date;
    rangeEnd: Date;
    rowsEstimate: number | null;
    bytes: number;
  }>;
  dropped: string[];
  /**
   * Plain mode: set when the cutoff was held back to where the rollup built on the target is complete
   * (`until`; null when it was never refreshed), so no reading is dropped before it reached the rollups.
   */
  heldBack: HeldBack | null;
}

/**
 * Drops (or with dryRun lists) the chunks of the readings or a rollup entirely older than --older-than,
 * or the policy's drop-after. Without a policy a real run must be confirmed with `yes`.
 */
export async function retentionRun(
  db: Db,
  opts: { olderThan?: Duration; rollup?: string; dryRun: boolean; yes: boolean },
): Promise<RetentionResult> {
  const store = await loadStore(db);
  const target = retentionTarget(store, opts.rollup);
  const policy = await findPolicy(db, store, 'retention', target.name);
  const age = opts.olderThan?.interval ?? policy?.after;
  if (!age) {
    throw usageError(
      `no retention policy on ${target.name}: give --older-than`,
      'or set one: iotctl retention policy set --drop-after 90d',
    );
  }
  if (!policy && !opts.dryRun && !opts.yes) {
    throw usageError(
      `there is no retention policy on ${target.name}; dropping data by hand needs --yes`,
      'run with --dry-run first to see what would go',
    );
  }
  const cutoff = await dbCutoff(db, age);
  const run = opts.dryRun
    ? await applyRetention(db, store, target, cutoff, true)
    : await withMaintenanceLock(db, 'retention run', () => applyRetention(db, store, target, cutoff));
  return {
    target: target.name,
    dryRun: opts.dryRun,
    olderThan: age,
    cutoff,
    chunks: run.chunks.map((c: ChunkRow) => ({
      chunk: c.chunk,
      rangeStart: c.range_start,
      rangeEnd: c.range_end,
      rowsEstimate: c.rows_estimate,
      bytes: c.bytes,
    })),
    dropped: run.dropped,
    heldBack: run.heldBack,
  };
}

export function registerRetention(program: Command): void {
  const cmd = program.command('retention').description('drop readings (or rollup rows) older than an age');
  const policy = cmd
    .command('policy')
    .description('retention policies (TimescaleDB jobs, or iotctl policies in plain mode)');
  const set = policy
    .command('set')
    .description('drop chunks older than --drop-after (idempotent; replaces a policy with another age)')
    .requiredOption('--drop-after <duration>', 'age after which data is dropped')
    .option('--rollup <bucket>', 'apply to a rollup (e.g. 1h) instead of the raw readings')
    .action(async (o, command: Command) => {
      const g = globalOptions(command);
      const after = parseDuration(o.dropAfter, '--drop-after');
      const change = await withDb(g, async (db) => {
        const store = await loadStore(db);
        return setPolicy(db, store, 'retention', retentionTarget(store, o.rollup).name, after);
      });
      await printPolicyChange(g.format, change);
    });
  const show = policy
    .command('show')
    .description('show the retention policies and their health')
    .action(async (_o, command: Command) => {
      const g = globalOptions(command);
      const list = await withDb(g, async (db) => showPolicies(db, await loadStore(db), 'retention'));
      await printPolicies(
        g.format,
        list,
        'no retention policy (set one with `iotctl retention policy set --drop-after 90d`)',
      );
    });
  const remove = policy
    .command('remove')
    .description('remove a retention policy')
    .option('--rollup <bucket>', 'the rollup whose policy to remove')
    .action(async (o, command: Command) => {
      const g = globalOptions(command);
      const change = await withDb(g, async (db) => {
        const store = await loadStore(db);
        return removePolicy(db, store, 'retention', retentionTarget(store, o.rollup).name);
      });
      await printPolicyChange(g.format, change);
    });
  const run = cmd
    .command('run')
    .description(
      'drop chunks entirely older than the threshold now (plain mode: never past what the rollups hold); --dry-run lists exactly those chunks',
    )
    .option('--older-than <duration>', "threshold (default: the policy's drop-after)")
    .option('--rollup <bucket>', 'a rollup (e.g. 1h) instead of the raw readings')
    .option('--dry-run', 'list the chunks a real run would drop; drop nothing')
    .option('--yes', 'confirm a run when no retention policy is set')
    .action(async (o, command: Command) => {
      const g = globalOptions(command);
      const olderThan = o.olderThan ? parseDuration(o.olderThan, '--older-than') : undefined;
      const result = await withDb(g, (db) =>
        retentionRun(db, { olderThan, rollup: o.rollup, dryRun: !!o.dryRun, yes: !!o.yes }),
      );
      await printRetentionResult(g.format, result);
    });
  examples(cmd, [
    'iotctl retention policy set --drop-after 90d',
    'iotctl retention policy set --rollup 1m --drop-after 30d',
    'iotctl retention run --dry-run',
  ]);
  examples(set, [
    'iotctl retention policy set --drop-after 90d',
    'iotctl retention policy set --rollup 1h --drop-after 730d',
  ]);
  examples(show, ['iotctl retention policy show']);
  examples(remove, ['iotctl retention policy remove', 'iotctl retention policy remove --rollup 1h']);
  examples(run, ['iotctl retention run --dry-run', 'iotctl retention run --older-than 180d --yes']);
}
