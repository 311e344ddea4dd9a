// Every `iotctl …` of the README's command sections parses against the real program: known commands and
// options, valid choices and values, required arguments given. Parsed only: a hook stops each before its
// action, so no database is needed (test/e2e/readme-commands.test.ts runs one of each command for real).
import { CommanderError, type Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli.js';
import { readmeCommands, shellWords, type ReadmeCommand } from '../helpers/readme.js';

class Parsed extends Error {
  constructor(readonly command: Command) {
    super('parsed');
  }
}

function quiet(cmd: Command, sink: (text: string) => void): void {
  cmd.configureOutput({ writeErr: sink, writeOut: sink });
  for (const sub of cmd.commands) quiet(sub, sink);
}

/** Parses `args` as `iotctl args`: the command it would run, or the commander error and what it printed. */
async function parse(args: string[]): Promise<{ command?: Command; error?: CommanderError; output: string }> {
  const program = buildProgram();
  let output = '';
  quiet(program, (text) => void (output += text));
  program.hook('preAction', (_root, action) => {
    throw new Parsed(action);
  });
  try {
    await program.parseAsync(['node', 'iotctl', ...args]);
  } catch (err) {
    if (err instanceof Parsed) return { command: err.command, output };
    if (err instanceof CommanderError) return { error: err, output };
    // An option's own parser (a number, a choice) raised a usage error while commander parsed.
    return { error: new CommanderError(2, 'iotctl.invalidValue', (err as Error).message), output };
  }
  return { output };
}

/**
 * Inline code in a sentence may name a command without its arguments (`iotctl ingest`, `iotctl query`):
 * that is a reference, not an invocation, so missing arguments and group help are fine there. Inline code
 * with a flag is an invocation, checked in full.
 */
const referenceOnly = new Set([
  'commander.missingArgument',
  'commander.missingMandatoryOptionValue',
  'commander.help',
]);

const commands = readmeCommands();

describe('README command lines', () => {
  it('are found in the command sections: code blocks and inline code', () => {
    expect(commands.filter((c) => c.kind === 'block').length).toBeGreaterThan(30);
    expect(commands.map((c) => c.args.slice(0, 2).join(' '))).toEqual(
      expect.arrayContaining([
        'init',
        'ingest readings.csv',
        'compress run',
        'query agg',
        'anomalies --metric',
      ]),
    );
  });

  it.each(commands.map((c) => [`${c.line}: iotctl ${c.args.join(' ')}`, c] as const))(
    'README %s parses',
    async (_name, c: ReadmeCommand) => {
      const r = await parse(c.args);
      const reference = c.kind === 'inline' && !c.args.some((a) => a.startsWith('-'));
      if (r.error && reference && referenceOnly.has(r.error.code)) return;
      expect(r.error?.message ?? '', r.output).toBe('');
      expect(r.command, `iotctl ${c.args.join(' ')} runs a command`).toBeDefined();
    },
  );

  it('the check catches what drifted: an unknown flag, a bad choice, a missing argument', async () => {
    // The query section once said `retention policy set --rollup 1m --after 30d`.
    const drifted = await parse(shellWords('retention policy set --rollup 1m --after 30d'));
    expect(drifted.error?.message).toMatch(/--drop-after <duration>' not specified|unknown option '--after'/);
    expect((await parse(['query', 'agg', '--format', 'xml'])).error?.code).toBe('commander.invalidArgument');
    expect((await parse(['stats', '--top', 'ten'])).error?.code).toBe('iotctl.invalidValue');
    expect((await parse(['ingest'])).error?.code).toBe('commander.missingArgument');
    expect((await parse(['query', 'agg', '--metric', 'temperature'])).command?.name()).toBe('agg');
  });

  it('shell words: quotes, escapes, comments, pipes', () => {
    expect(shellWords(`iotctl a 'b c' "d \\"e\\"" f\\ g # comment`)).toEqual([
      'iotctl',
      'a',
      'b c',
      'd "e"',
      'f g',
    ]);
    expect(shellWords('iotctl query raw --format csv > plot.csv')).toEqual([
      'iotctl',
      'query',
      'raw',
      '--format',
      'csv',
    ]);
    expect(shellWords('iotctl status || alert')).toEqual(['iotctl', 'status']);
    expect(shellWords("iotctl agg --device-like 'hall-#1'")).toEqual([
      'iotctl',
      'agg',
      '--device-like',
      'hall-#1',
    ]);
  });
});
