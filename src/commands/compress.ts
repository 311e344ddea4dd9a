// `iotctl compress` on the command line: flags, the data function in src/maintenance/compress.ts, a printer.
import type { Command } from 'commander';
import { chunkProgress, printCompressResult } from '../output/compress.js';
import { removePolicy, setPolicy, showPolicies } from '../maintenance/policies.js';
import { parseDuration } from '../util/duration.js';
import { printPolicies, printPolicyChange } from '../output/maintenance.js';
import { examples, globalOptions, withDb } from './common.js';
import {
  DEFAULT_COMPRESS_AFTER,
  compressingStore,
  compressRun,
  compressUndo,
} from '../maintenance/compress.js';

export function registerCompress(program: Command): void {
  const cmd = program.command('compress').description('compression of old chunks (TimescaleDB only)');
  const policy = cmd.command('policy').description('the compression policy (a TimescaleDB job)');
  const set = policy
    .command('set')
    .description('compress chunks older than --after (idempotent; replaces a policy with another age)')
    .requiredOption('--after <duration>', 'compress chunks whose newest rows are older than this')
    .action(async (o, command: Command) => {
      const g = globalOptions(command);
      const after = parseDuration(o.after, '--after');
      const change = await withDb(g, async (db) =>
        setPolicy(db, await compressingStore(db), 'compression', 'points', after),
      );
      await printPolicyChange(g.format, change);
    });
  const show = policy
    .command('show')
    .description('show the compression policy and its health')
    .action(async (_o, command: Command) => {
      const g = globalOptions(command);
      const list = await withDb(g, async (db) => showPolicies(db, await compressingStore(db), 'compression'));
      await printPolicies(
        g.format,
        list,
        'no compression policy (set one with `iotctl compress policy set --after 7d`)',
      );
    });
  const remove = policy
    .command('remove')
    .description('remove the compression policy (compressed chunks stay compressed)')
    .action(async (_o, command: Command) => {
      const g = globalOptions(command);
      const change = await withDb(g, async (db) =>
        removePolicy(db, await compressingStore(db), 'compression', 'points'),
      );
      await printPolicyChange(g.format, change);
    });
  const run = cmd
    .command('run')
    .description('compress eligible chunks now, one transaction per chunk, with a before/after summary')
    .option(
      '--older-than <duration>',
      `compress chunks older than this (default: the policy's age, else ${DEFAULT_COMPRESS_AFTER})`,
    )
    .option('--dry-run', 'list the chunks that would be compressed')
    .action(async (o, command: Command) => {
      const g = globalOptions(command);
      const olderThan = o.olderThan ? parseDuration(o.olderThan, '--older-than') : undefined;
      const result = await withDb(g, (db) =>
        compressRun(db, { olderThan, dryRun: !!o.dryRun, onChunk: chunkProgress() }),
      );
      await printCompressResult(g.format, result, 'compress');
    });
  const undo = cmd
    .command('undo')
    .description('decompress chunks (before a backfill or a correction of old rows)')
    .option('--chunk <name>', 'one chunk, e.g. _hyper_1_12_chunk')
    .option('--newer-than <duration>', 'every compressed chunk with rows newer than this')
    .option('--dry-run', 'list the chunks that would be decompressed')
    .action(async (o, command: Command) => {
      const g = globalOptions(command);
      const newerThan = o.newerThan ? parseDuration(o.newerThan, '--newer-than') : undefined;
      const result = await withDb(g, (db) =>
        compressUndo(db, { chunk: o.chunk, newerThan, dryRun: !!o.dryRun, onChunk: chunkProgress() }),
      );
      await printCompressResult(g.format, result, 'decompress');
    });
  examples(cmd, [
    'iotctl compress policy set --after 7d',
    'iotctl compress run --older-than 3d --dry-run',
    'iotctl compress undo --newer-than 30d',
  ]);
  examples(set, ['iotctl compress policy set --after 7d']);
  examples(show, ['iotctl compress policy show', 'iotctl compress policy show --json']);
  examples(remove, ['iotctl compress policy remove']);
  examples(run, ['iotctl compress run', 'iotctl compress run --older-than 1d --json']);
  examples(undo, ['iotctl compress undo --chunk _hyper_1_12_chunk', 'iotctl compress undo --newer-than 3d']);
}
