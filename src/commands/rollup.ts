// `iotctl rollup` on the command line: flags, the data function in src/maintenance/rollup.ts, a printer.
import type { Command } from 'commander';
import { loadStore } from '../db/store.js';
import { refreshReporter } from '../output/rollup.js';
import { printRows } from '../output/render.js';
import { setPolicy, showPolicies } from '../maintenance/policies.js';
import { selectRollups } from '../maintenance/rollups.js';
import { parseDuration } from '../util/duration.js';
import { printPolicies, printPolicyChange, when } from '../output/maintenance.js';
import { examples, globalOptions, withDb } from './common.js';
import { rollupRefresh } from '../maintenance/rollups.js';

export function registerRollup(program: Command): void {
  const cmd = program
    .command('rollup')
    .description('rollups (continuous aggregates, or tables iotctl refreshes)');
  const refresh = cmd
    .command('refresh [names...]')
    .description('bring rollups up to date now (all when none is named)')
    .option(
      '--since <duration>',
      'recompute buckets this far back, finer rollups first (plain mode: for backfills older than the watermark)',
    )
    .option('--all', 'recompute every bucket')
    .action(async (names: string[], o, command: Command) => {
      const g = globalOptions(command);
      const since = o.since ? parseDuration(o.since, '--since') : undefined;
      const progress = refreshReporter(undefined, g.quiet);
      let result;
      try {
        result = await withDb(g, (db) =>
          rollupRefresh(db, names, {
            since,
            all: !!o.all,
            onNotice: progress.onNotice,
            onProgress: progress.onProgress,
          }),
        );
      } finally {
        progress.stop();
      }
      await printRows(g.format, result, [
        { key: 'rollup' },
        { key: 'from', format: (v) => (v ? when(v) : 'start') },
        { key: 'until', format: (v) => (v ? when(v) : 'now') },
        { key: 'buckets', align: 'right', format: (v) => (v === null ? '-' : String(v)) },
      ]);
    });
  const policy = cmd.command('policy').description('how often each rollup is refreshed');
  const show = policy
    .command('show')
    .description('show the refresh schedule and health of every rollup')
    .action(async (_o, command: Command) => {
      const g = globalOptions(command);
      const list = await withDb(g, async (db) => showPolicies(db, await loadStore(db), 'refresh'));
      await printPolicies(g.format, list, 'no rollups');
    });
  const set = policy
    .command('set <name>')
    .description('refresh a rollup (e.g. 1h or rollup_1h) every --every')
    .requiredOption('--every <duration>', 'refresh schedule')
    .action(async (name: string, o, command: Command) => {
      const g = globalOptions(command);
      const every = parseDuration(o.every, '--every');
      const change = await withDb(g, async (db) => {
        const store = await loadStore(db);
        const rollup = selectRollups(store, [name])[0] as { name: string };
        return setPolicy(db, store, 'refresh', rollup.name, every);
      });
      await printPolicyChange(g.format, change);
    });
  examples(cmd, [
    'iotctl rollup refresh',
    'iotctl rollup refresh 1h --since 30d',
    'iotctl rollup policy set 1m --every 10m',
  ]);
  examples(show, ['iotctl rollup policy show']);
  examples(set, ['iotctl rollup policy set 1h --every 30m']);
  examples(refresh, ['iotctl rollup refresh', 'iotctl rollup refresh rollup_1m --all']);
}
