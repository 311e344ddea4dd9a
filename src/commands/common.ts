// Shared plumbing for commands: global options, opening the target, examples in --help.
import type { Command } from 'commander';
import { openDb } from '../db/connect.js';
import type { Db } from '../db/types.js';
import { usageError } from '../errors.js';
import type { Format } from '../output/render.js';

export interface GlobalOptions {
  db?: string;
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
  return { db: o.db, format: format as Format, quiet: !!o.quiet, verbose: !!o.verbose };
}

/** Opens the target named by the global options, runs fn, and always closes it. */
export async function withDb<T>(
  g: GlobalOptions,
  fn: (db: Db) => Promise<T>,
  opts: { poolSize?: number } = {},
): Promise<T> {
  const db = await openDb({ db: g.db, poolSize: opts.poolSize });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
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
