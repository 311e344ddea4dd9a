// `iotctl init` on the command line: flags, the data function in src/maintenance/init.ts, a printer.
import { Option, type Command } from 'commander';
import { engineNames } from '../engine/index.js';
import type { EngineName } from '../engine/types.js';
import { log } from '../output/log.js';
import { printInitResult } from '../output/init.js';
import { parseDuration } from '../util/duration.js';
import { examples, givenByUser, globalOptions, withDb } from './common.js';
import { InitCommandOptions, parseRollups, init } from '../maintenance/init.js';

export function registerInit(program: Command): void {
  const cmd = program
    .command('init')
    .description('create or update the iotctl schema (idempotent: a second run changes nothing)')
    .option('--chunk-interval <duration>', 'time range of one chunk (partition) (default: 1d; 7d on Citus)')
    .option('--rollups <list>', 'rollup bucket sizes, comma-separated, or "none"', '1m,1h,1d')
    .option(
      '--cadence <duration>',
      "the readings' usual interval (e.g. 1h): skips rollups at or below it; chunk interval to fit (default 1d otherwise)",
    )
    .option('--compress-after <duration>', 'add a compression policy: compress chunks older than this')
    .option('--retention <duration>', 'add a retention policy: drop chunks older than this')
    .addOption(
      new Option(
        '--engine <name>',
        'storage engine of a new store (default: citus where the citus extension is installed, else timescaledb where available, else plain)',
      ).choices([...engineNames]),
    )
    .option(
      '--plain',
      'use plain PostgreSQL partitioning even where TimescaleDB is available (= --engine plain)',
    )
    .option('--dry-run', 'print the SQL that would run; change nothing')
    .action(async (o, command: Command) => {
      const g = globalOptions(command);
      const opts: InitCommandOptions = {
        chunkInterval: parseDuration(o.chunkInterval ?? '1d', '--chunk-interval'),
        rollups: parseRollups(o.rollups),
        cadence: o.cadence ? parseDuration(o.cadence, '--cadence') : undefined,
        compressAfter: o.compressAfter ? parseDuration(o.compressAfter, '--compress-after') : undefined,
        retention: o.retention ? parseDuration(o.retention, '--retention') : undefined,
        dryRun: !!o.dryRun,
        plain: !!o.plain,
        engine: o.engine as EngineName | undefined,
        explicit: {
          chunkInterval: givenByUser(command, 'chunkInterval'),
          rollups: givenByUser(command, 'rollups'),
        },
        onNotice: (m) => log.warn(m),
      };
      await printInitResult(g.format, await withDb(g, (db) => init(db, opts)));
    });
  examples(cmd, [
    'iotctl init',
    'iotctl init --db postgres://iot@db.example.com/iot --compress-after 7d --retention 90d',
    'iotctl init --chunk-interval 6h --rollups 5m,1h,1d --dry-run',
    'iotctl init --cadence 1h                     # hourly readings: rollup_1d only, 5w chunks',
  ]);
}
