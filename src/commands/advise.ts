// `iotctl advise`: each series' cadence and what in the store fits it poorly (chunk interval, rollups).
import type { Command } from 'commander';
import { advise } from '../maintenance/advise.js';
import { printAdvice } from '../output/advise.js';
import { examples, globalOptions, withDb } from './common.js';

export function registerAdvise(program: Command): void {
  const cmd = program
    .command('advise')
    .description(
      "each series' cadence, and where the chunk interval or rollups fit it poorly: what to change",
    )
    .action(async (_o, command: Command) => {
      const g = globalOptions(command);
      await printAdvice(g.format, await withDb(g, (db) => advise(db)));
    });
  examples(cmd, ['iotctl advise', 'iotctl advise --json | jq .advice']);
}
