// `iotctl anomalies`: flags from the method registry (anomalies/methods/), one data call, one printer.
import { Option, type Command } from 'commander';
import { anomalies, type AnomaliesOptions } from '../anomalies/detect.js';
import {
  allFlags,
  anomalyMethods,
  defaultMethod,
  methodNames,
  type SharedFlag,
} from '../anomalies/methods/index.js';
import { usageError } from '../errors.js';
import { printAnomalies } from '../output/anomalies.js';
import {
  addFilterOptions,
  addRangeOptions,
  parseFilter,
  parseNumber,
  parseRangeFlags,
  type FilterFlags,
} from '../query/options.js';
import { parseDuration } from '../util/duration.js';
import { examples, givenByUser, globalOptions, parseIntOption, withDb } from './common.js';

const flagName = (f: SharedFlag) => f.flag.flags.split(' ')[0] as string;
const listed = (names: string[]) =>
  names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : (names[0] ?? '');

/** One commander option per flag, its help prefixed with the methods that take it and their defaults. */
function methodOption(shared: SharedFlag): Option {
  const { flag, methods } = shared;
  const defaults = new Set(methods.map((m) => m.default));
  const same = defaults.size === 1 ? methods[0]?.default : undefined;
  const perMethod = methods.filter((m) => m.default !== undefined);
  const note =
    same === undefined && perMethod.length
      ? ` (default ${listed(perMethod.map((m) => `${m.default} for ${m.name}`))})`
      : '';
  const opt = new Option(flag.flags, `${methods.map((m) => m.name).join('/')}: ${flag.help}${note}`);
  const name = flagName(shared);
  if (flag.kind === 'number') opt.argParser(parseNumber(name));
  if (flag.kind === 'int') opt.argParser(parseIntOption(name, flag.min));
  return same === undefined ? opt : opt.default(same);
}

export function registerAnomalies(program: Command): void {
  const cmd = addRangeOptions(addFilterOptions(program.command('anomalies'), true), '1h')
    .description(
      'readings a method flags as abnormal, per device and metric (exit 0 whether or not any are found)',
    )
    .addOption(
      new Option('--method <method>', 'detection method').choices(methodNames).default(defaultMethod),
    )
    .addHelpText(
      'after',
      '\nMethods:\n' + anomalyMethods.map((m) => `  ${m.name.padEnd(8)} ${m.summary}`).join('\n'),
    );
  const flags = allFlags();
  for (const f of flags) cmd.addOption(methodOption(f));
  cmd.action(async (o: FilterFlags & Record<string, unknown>, command: Command) => {
    const g = globalOptions(command);
    const opts = { ...o } as Record<string, unknown>;
    for (const f of flags) {
      const takes = f.methods.some((m) => m.name === o.method);
      if (f.flag.exclusive && !takes && givenByUser(command, f.flag.key)) {
        throw usageError(
          `${flagName(f)} applies to ${listed(f.methods.map((m) => m.name))}, not ${o.method}`,
        );
      }
      if (f.flag.kind === 'duration') opts[f.flag.key] = parseDuration(o[f.flag.key] as string, flagName(f));
    }
    const range = parseRangeFlags(o as { since: string; until: string });
    const filter = { ...parseFilter(o), metric: o.metric as string };
    // Validated once, by anomalies() itself, so every caller gets the same checks.
    const res = await withDb(g, (db) => anomalies(db, { ...opts, filter, range } as AnomaliesOptions));
    await printAnomalies(g.format, res);
  });
  examples(cmd, [
    'iotctl anomalies --metric temperature --since 1h',
    'iotctl anomalies --metric temperature --method mad --since 24h --json',
    'iotctl anomalies --metric temperature --method roc --max-step 10 --since 6h',
    'iotctl anomalies --metric humidity --method range --min 0 --max 100 --since 7d',
  ]);
}
