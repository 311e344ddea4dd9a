// Usage errors the CLI raises before any database work, found by walking the program: every duration
// flag refuses zero, percentages stop at 100%, and a command that only has subcommands prints its help
// and exits 2. Runs main() in-process (test/helpers/main.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli.js';
import { runMain } from '../helpers/main.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-usage-'));
// Never created: a command that opened its database would create it.
const dataDir = path.join(tmp, 'data');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = runMain;

interface Leaf {
  path: string[];
  cmd: Command;
}

function walk(cmd: Command, prefix: string[] = []): Leaf[] {
  return cmd.commands.flatMap((c) => {
    const here = [...prefix, c.name()];
    return [{ path: here, cmd: c }, ...walk(c, here)];
  });
}

const commands = walk(buildProgram());
// commander keeps no public record of whether a command has an action of its own.
const hasAction = (c: Command) => !!(c as unknown as { _actionHandler?: unknown })._actionHandler;

/** A command line that satisfies `cmd`'s required arguments and options, so only `extra` can fail. */
function validLine(leaf: Leaf, extra: string[]): string[] {
  const args = leaf.cmd.registeredArguments.filter((a) => a.required).map(() => 'x');
  const required = leaf.cmd.options
    .filter((o) => o.mandatory && !extra.includes(o.long as string))
    .flatMap((o) => [o.long as string, '1m']);
  return [...leaf.path, ...args, ...required, ...extra, '--db', dataDir];
}

/** Duration flags where 0 has a meaning: `--retry-timeout 0s` retries nothing, `--tolerance 0s` is exact. */
const zeroAllowed = new Set(['--retry-timeout', '--tolerance']);

const durationFlags = commands.flatMap((leaf) =>
  leaf.cmd.options
    .filter((o) => /<duration[>|]/.test(o.flags) && !zeroAllowed.has(o.long as string))
    .map((o) => [`${leaf.path.join(' ')} ${o.long}`, leaf, o.long as string] as const),
);

describe('usage errors before any database work', () => {
  it('finds the duration flags to check (the walk is not empty)', () => {
    expect(durationFlags.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        'init --chunk-interval',
        'query agg --every',
        'query gaps --expected',
        'anomalies --baseline',
        'rollup policy set --every',
      ]),
    );
  });

  it.each(durationFlags)(
    '%s 0s, 0m and -5m are usage errors (exit 2) naming the flag, before any database is opened (0 reached the database)',
    async (_name, leaf, flag) => {
      for (const value of ['0s', '0m', '-5m']) {
        const r = await cli(validLine(leaf, [flag, value]));
        expect(r.code, `${flag} ${value}`).toBe(2);
        expect(r.stderr).toContain(`error: invalid ${flag} '${value}'`);
        expect(fs.existsSync(dataDir)).toBe(false);
      }
    },
  );

  it('percentages over 100 are usage errors: --max-errors 200% (it was accepted), --tolerance 150%', async () => {
    const ingest = await cli(['ingest', 'x.csv', '--max-errors', '200%', '--db', dataDir]);
    expect([ingest.code, ingest.stderr]).toEqual([
      2,
      "error: invalid --max-errors '200%': a percentage is at most 100%\n",
    ]);
    const gaps = await cli(['query', 'gaps', '--expected', '1m', '--tolerance', '150%', '--db', dataDir]);
    expect([gaps.code, gaps.stderr]).toEqual([
      2,
      "error: invalid --tolerance '150%': a percentage is at most 100%\n",
    ]);
    expect(fs.existsSync(dataDir)).toBe(false);
  });
});

describe('commands that only have subcommands', () => {
  const groups = [[[], buildProgram()] as const, ...commands.map((l) => [l.path, l.cmd] as const)].filter(
    ([, c]) => c.commands.length > 0 && !hasAction(c),
  );

  it('are found: bare iotctl, query, compress and the policy groups among them', () => {
    expect(groups.map(([p]) => p.join(' '))).toEqual(
      expect.arrayContaining(['', 'query', 'compress', 'compress policy', 'retention', 'rollup policy']),
    );
  });

  it.each(groups.map(([p]) => [p.join(' ') || '(none)', p] as const))(
    'iotctl %s without a subcommand prints its help on stderr and exits 2 (it exited 0)',
    async (_name, p) => {
      const r = await cli([...p]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(
        new RegExp(`^Usage: iotctl ${p.map((w) => w + ' ').join('')}\\[options\\] \\[command\\]`),
      );
    },
  );

  it('help asked for is still a success on stdout: --help, help, help query', async () => {
    for (const args of [['--help'], ['help'], ['help', 'query'], ['query', '--help']]) {
      const r = await cli(args);
      expect([r.code, r.stderr], args.join(' ')).toEqual([0, '']);
      expect(r.stdout).toMatch(/^Usage: iotctl /);
    }
  });
});
