// Shared plumbing for commands: global options, opening the target, examples in --help.
import type { Command } from 'commander';
import { openDb } from '../db/connect.js';
import { resolveTarget } from '../db/target.js';
import type { Db, Target } from '../db/types.js';
import { usageError } from '../errors.js';
import type { Format } from '../output/render.js';

export interface GlobalOptions {
  db?: string;
  /** The target --db and the environment name, resolved once per run; undefined when that failed. */
  target?: Target;
  format: Format;
  quiet: boolean;
  verbose: boolean;
}

export function globalOptions(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals() as {
    db?: string;
    json?: boolean;
    format?: string;
    quiet?: boolean;
    verbose?: boolean;
  };
  const format = o.json ? 'json' : (o.format ?? 'table');
  if (!['table', 'json', 'csv'].includes(format)) {
    throw usageError(`invalid --format '${format}'`, 'use table, json or csv');
  }
  return {
    db: o.db,
    target: commandTarget(cmd),
    format: format as Format,
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
  g: GlobalOptions,
  fn: (db: Db) => Promise<T>,
  opts: { poolSize?: number } = {},
): Promise<T> {
  const db = await openDb({ target: g.target, db: g.db, poolSize: opts.poolSize });
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
