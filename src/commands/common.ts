// Shared plumbing for commands: global options, opening the target, examples in --help.
import type { Command } from 'commander';
import { openDb } from '../db/connect.js';
import { resolveTarget } from '../db/target.js';
import type { Db, Target } from '../db/types.js';
import { usageError } from '../errors.js';
import { log } from '../output/log.js';
import type { Format, RowFormat } from '../output/render.js';

export interface GlobalOptions<F extends RowFormat = Format> {
  db?: string;
  /** The target --db and the environment name, resolved once per run; undefined when that failed. */
  target?: Target;
  format: F;
  quiet: boolean;
  verbose: boolean;
}

/** The commands that print rows, and so take `--format ndjson` (the others print one result). */
export const ROW_COMMANDS = [
  'query agg',
  'query raw',
  'query latest',
  'query gaps',
  'query profile',
  'query corr',
  'anomalies',
  'forecast',
  'series',
] as const;

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * The global options as `cmd` sees them. `output: 'rows'` is for the commands of ROW_COMMANDS: they
 * take `--format ndjson`; any other command refuses it as a usage error.
 */
export function globalOptions(cmd: Command): GlobalOptions;
export function globalOptions(cmd: Command, output: 'rows'): GlobalOptions<RowFormat>;
export function globalOptions(cmd: Command, output?: 'rows'): GlobalOptions<RowFormat> {
  const o = cmd.optsWithGlobals() as {
    db?: string;
    json?: boolean;
    format?: string;
    quiet?: boolean;
    verbose?: boolean;
  };
  const format = o.json ? 'json' : (o.format ?? 'table');
  if (!['table', 'json', 'csv', 'ndjson'].includes(format)) {
    throw usageError(`invalid --format '${format}'`, 'use table, json, csv or ndjson');
  }
  if (format === 'ndjson' && output !== 'rows') {
    const path = commandPath(cmd);
    throw usageError(
      `--format ndjson is for commands that print rows, not iotctl ${path}`,
      path === 'export'
        ? 'export writes NDJSON with --output-format ndjson'
        : `use --format json here; ndjson: ${ROW_COMMANDS.map((c) => `iotctl ${c}`).join(', ')}`,
    );
  }
  return {
    db: o.db,
    target: commandTarget(cmd),
    format: format as RowFormat,
    quiet: !!o.quiet,
    verbose: !!o.verbose,
  };
}

const resolvedTargets = new WeakMap<Command, Target | undefined>();

/**
 * The target named by the command's parsed --db (or the environment), resolved on first use and kept, so
 * the CLI's error reporter and withDb see the same one. Undefined when it cannot be resolved: opening
 * the database then reports why, as a command that never opens one never needs to.
 */
export function commandTarget(cmd: Command): Target | undefined {
  if (resolvedTargets.has(cmd)) return resolvedTargets.get(cmd);
  let target: Target | undefined;
  try {
    target = resolveTarget({ db: (cmd.optsWithGlobals() as { db?: string }).db });
  } catch {
    target = undefined;
  }
  resolvedTargets.set(cmd, target);
  return target;
}

/** Opens the target named by the global options, runs fn, and always closes it. */
export async function withDb<T>(
  g: GlobalOptions<RowFormat>,
  fn: (db: Db) => Promise<T>,
  opts: { poolSize?: number } = {},
): Promise<T> {
  const db = await openDb({
    target: g.target,
    db: g.db,
    poolSize: opts.poolSize,
    onRetry: (message) => log.warn(message),
  });
  let result: T;
  try {
    result = await fn(db);
  } catch (err) {
    // The command's own error is the one to report, not a failure to close after it (a full disk fails both).
    await db.close().catch(() => undefined);
    throw err;
  }
  await db.close();
  return result;
}

/** Adds an Examples block to a command's --help. */
export function examples(cmd: Command, lines: string[]): Command {
  return cmd.addHelpText('after', '\nExamples:\n' + lines.map((l) => `  $ ${l}`).join('\n'));
}

/** True when the user typed the option, false when commander filled in its default. */
export function givenByUser(cmd: Command, name: string): boolean {
  const source = cmd.getOptionValueSource(name);
  return source !== undefined && source !== 'default';
}

export function parseIntOption(name: string, min = 1) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw usageError(`${name} must be a whole number >= ${min}, got '${value}'`);
    return n;
  };
}
