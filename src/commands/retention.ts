// `iotctl retention` on the command line: flags, the data function in src/maintenance/retention.ts, a printer.
import type { Command } from 'commander';
import { loadStore } from '../db/store.js';
import { printRetentionResult } from '../output/retention.js';
import { removePolicy, setPolicy, showPolicies } from '../maintenance/policies.js';
import { retentionTarget } from '../maintenance/retention.js';
import { parseDuration } from '../util/duration.js';
import { printPolicies, printPolicyChange } from '../output/maintenance.js';
import { examples, globalOptions, withDb } from './common.js';
import { retentionRun } from '../maintenance/retention.js';

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
