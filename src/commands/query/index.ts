// `iotctl query`: one subcommand per file, each parsing its flags, calling one data function, printing.
import type { Command } from 'commander';
import { registerAgg } from './agg.js';
import { registerCorr } from './corr.js';
import { registerEvents } from './events.js';
import { registerGaps } from './gaps.js';
import { registerLatest } from './latest.js';
import { registerProfile } from './profile.js';
import { registerRaw } from './raw.js';

export function registerQuery(program: Command): void {
  const query = program
    .command('query')
    .description(
      'read readings: aggregates (agg), latest values, gaps, raw readings, events, profiles, correlations',
    );
  for (const register of [
    registerAgg,
    registerLatest,
    registerGaps,
    registerRaw,
    registerEvents,
    registerProfile,
    registerCorr,
  ])
    register(query);
}
