// `iotctl delete`: removes readings (and the rollup buckets they fed, and series left empty); --dry-run
// counts what goes, a real run needs --yes.
import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { deleteReadingsOf } from '../maintenance/delete.js';
import { printDelete } from '../output/delete.js';
import { addFilterOptions, parseFilter, type FilterFlags } from '../query/options.js';
import { parseTime } from '../query/time.js';
import { examples, globalOptions, withDb } from './common.js';

type DeleteFlags = FilterFlags & { since?: string; until?: string; dryRun?: boolean; yes?: boolean };

export function registerDelete(program: Command): void {
  const cmd = addFilterOptions(program.command('delete'))
    .description(
      'delete readings of the selected series (and the rollup buckets they fed); --dry-run counts first',
    )
    .option('--since <time>', 'from this time (default: the first reading)')
    .option('--until <time>', 'before this time, exclusive (default: after the last reading)')
    .option('--dry-run', 'count what would be deleted; change nothing')
    .option('--yes', 'really delete (required without --dry-run)')
    .action(async (o: DeleteFlags, command: Command) => {
      const g = globalOptions(command);
      const filter = parseFilter(o);
      if (!filter.metric && !filter.devices && !filter.deviceLike && !o.since && !o.until) {
        throw usageError(
          'delete needs --device, --device-like, --metric, --since or --until',
          'say what to delete; iotctl delete --dry-run ... counts it first',
        );
      }
      if (!o.dryRun && !o.yes) {
        throw usageError('delete changes data: add --yes (or --dry-run to count what would go)');
      }
      const now = new Date();
      const since = o.since === undefined ? null : parseTime(o.since, now, '--since');
      const until = o.until === undefined ? null : parseTime(o.until, now, '--until');
      if (since && until && since >= until) {
        throw usageError(`--since (${since.toISOString()}) must be before --until (${until.toISOString()})`);
      }
      const result = await withDb(g, (db) =>
        deleteReadingsOf(db, { filter, since, until, dryRun: !!o.dryRun }),
      );
      await printDelete(g, result);
    });
  examples(cmd, [
    'iotctl delete --device test-rig --dry-run        # count what would go',
    'iotctl delete --device test-rig --yes            # the device, its rollups and its series rows',
    "iotctl delete --metric temperature --device-like 'hall-%' --since 2026-03-01 --until 2026-03-02 --yes",
  ]);
}
