// Builds the iotctl program from one list of commands; the one place that catches errors, prints them
// and sets process.exitCode.
import fs from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { commandTarget } from './commands/common.js';
import { commands } from './commands/index.js';
import { redact } from './db/redact.js';
import { resolveTarget } from './db/target.js';
import type { Target } from './db/types.js';
import { IotctlError, ExitCode, exitCodeTable } from './errors.js';
import { log, setLogLevel, isVerbose } from './output/log.js';

function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

const helpFooter = `
Target (first that is set): --db, IOTCTL_DATABASE_URL, DATABASE_URL, PGHOST/PGDATABASE (a server);
otherwise the embedded database in IOTCTL_DATA_DIR or ${'$XDG_DATA_HOME'}/iotctl (~/.local/share/iotctl).
A postgres:// URL or "host=... dbname=..." names a server; a path or file: URL an embedded data directory.

Exit codes:
${exitCodeTable.map(([code, text]) => `  ${String(code).padStart(3)}  ${text}`).join('\n')}
`;

/** What the pre-action hook learnt about the command being run, for the error reporter. */
export interface RunState {
  target?: Target;
}

export function buildProgram(run: RunState = {}): Command {
  const program = new Command('iotctl')
    .description(
      'Administer and load IoT sensor readings in PostgreSQL / TimescaleDB (or an embedded database).',
    )
    .version(packageVersion(), '-V, --version')
    .option('--db <url|dir>', 'database: postgres:// URL, libpq string, or embedded data directory')
    .option('--json', 'same as --format json')
    .addOption(
      new Option('--format <format>', 'output format (ndjson: commands that print rows)').choices([
        'table',
        'json',
        'csv',
        'ndjson',
      ]),
    )
    .option('-q, --quiet', 'no progress or informational messages on stderr')
    .option('-v, --verbose', 'more detail on stderr, stack traces on errors')
    .showSuggestionAfterError()
    .exitOverride()
    // commander echoes arguments in its errors ("unknown command 'postgres://u:pw@…'"): scrub them too.
    .configureOutput({ writeErr: (text) => process.stderr.write(redact(text, undefined)) })
    .addHelpText('after', helpFooter);
  for (const register of commands) register(program);
  for (const sub of program.commands) sub.exitOverride();
  program.hook('preAction', (_root, action) => {
    const o = action.optsWithGlobals() as { quiet?: boolean; verbose?: boolean };
    setLogLevel({ quiet: !!o.quiet, verbose: !!o.verbose });
    run.target = commandTarget(action);
  });
  return program;
}

/**
 * The target whose secrets to scrub: the one the pre-action hook resolved, or, for an error raised while
 * commander was still parsing (an option's own validation), whatever the options parsed so far name.
 */
function targetForErrors(run: RunState, program: Command): Target | undefined {
  if (run.target) return run.target;
  try {
    return resolveTarget({ db: (program.opts() as { db?: string }).db });
  } catch {
    return undefined;
  }
}

function reportError(err: unknown, secrets: Target | undefined): number {
  if (err instanceof IotctlError && err.code === 'OUTPUT_CLOSED') return err.exitCode;
  if (err instanceof IotctlError) {
    log.error(redact(err.message, secrets));
    if (err.hint) process.stderr.write(`hint: ${redact(err.hint, secrets)}\n`);
    if (isVerbose() && err.cause instanceof Error && err.cause.stack) {
      process.stderr.write(redact(err.cause.stack, secrets) + '\n');
    }
    return err.exitCode;
  }
  const e = err as Error;
  log.error(`internal error: ${redact(e?.message ?? String(err), secrets)}`);
  if (isVerbose() && e?.stack) process.stderr.write(redact(e.stack, secrets) + '\n');
  else process.stderr.write('hint: run again with --verbose for details\n');
  return ExitCode.internal;
}

export async function main(argv: string[]): Promise<void> {
  const args = argv.slice(2);
  if (args.includes('-v') || args.includes('--verbose')) setLogLevel({ verbose: true });
  const run: RunState = {};
  const program = buildProgram(run);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has already printed its message. Help asked for (--help, `help`) and the version are
      // successes; help shown because a command that only has subcommands was given none is a usage error.
      const asked = ['commander.helpDisplayed', 'commander.version'].includes(err.code);
      const help = err.code === 'commander.help' && err.exitCode === 0;
      process.exitCode = asked || help ? ExitCode.ok : ExitCode.usage;
      return;
    }
    process.exitCode = reportError(err, targetForErrors(run, program));
  }
}
