// The README's command lines run for real: the first line of each command (init, compress run, query agg,
// …) against an embedded store holding fixtures/demo/readings.csv, through the CLI's main() in this process
// (a process per line cost 1.5-5 s each). Each must exit with an expected code and print no usage error.
// test/unit/readme-commands.test.ts parses every line.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli.js';
import { runMain } from '../helpers/main.js';
import { readmeCommands, type ReadmeCommand } from '../helpers/readme.js';
import { citusKinds, makeTarget, type TargetKind, type TestTarget } from '../helpers/targets.js';

const DEMO = path.resolve(import.meta.dirname, '../../fixtures/demo/readings.csv');

/** Lines not run, and why; everything else runs. */
function notRun(c: ReadmeCommand): string | undefined {
  if (c.args[0] === 'ingest') return 'reads files that are not in the repository';
  if (c.args[0] === 'serve') return 'serves until stopped (test/e2e/share.test.ts runs it)';
  if (c.args.includes('--db')) return 'names a database of its own';
  return undefined;
}

/**
 * Exit codes other than 0 that a line may give on the demo store, and why. The demo readings end on
 * 2026-10-31, so every sensor is silent by now.
 */
const allowed: Record<string, number[]> = {
  'query latest': [0, 5],
};

/** On Citus (native partitions, as plain mode) a store's partition interval cannot change: exit 2. */
function allowedCodes(kind: TargetKind, c: ReadmeCommand): number[] {
  if (kind === 'citus' && commandPath(c.args) === 'init' && c.args.includes('--chunk-interval')) return [2];
  return allowed[commandPath(c.args)] ?? [0];
}

/** The command a line runs (`compress run`, `query agg`), from the program's own command tree. */
function commandPath(args: string[]): string {
  let cmd = buildProgram();
  const words: string[] = [];
  for (const a of args) {
    const sub = cmd.commands.find((c) => c.name() === a);
    if (!sub) break;
    words.push(a);
    cmd = sub;
  }
  return words.join(' ');
}

const blocks = readmeCommands().filter((c) => c.kind === 'block');
const seen = new Set<string>();
// A dry run and a real run of a command are both run: they take different paths.
const runs = blocks.filter((c) => {
  const key = commandPath(c.args) + (c.args.includes('--dry-run') ? ' --dry-run' : '');
  if (notRun(c) || seen.has(key)) return false;
  seen.add(key);
  return true;
});

// The embedded store, and a Citus database where IOTCTL_TEST_CITUS_URL names a cluster (every plan Citus
// refuses shows up here as exit 8).
const kinds: TargetKind[] = ['embedded', ...citusKinds];

describe.each(kinds)('README command lines against a demo store on the %s target', (kind) => {
  let target: TestTarget;
  let dir: string;
  beforeAll(async () => {
    target = await makeTarget(kind);
    dir = target.spec;
    expect((await runMain(['init', '--db', dir])).code).toBe(0);
    expect((await runMain(['ingest', DEMO, '--db', dir, '--quiet'])).code).toBe(0);
  });
  afterAll(async () => target.cleanup());

  it('runs one line of each command; the lines left out are the ingests of files, a server init and serve', () => {
    expect([...seen]).toEqual(
      expect.arrayContaining(['init', 'compress run', 'compress run --dry-run', 'query agg', 'anomalies']),
    );
    const left = blocks.filter((c) => notRun(c)).map((c) => commandPath(c.args));
    expect(new Set(left)).toEqual(new Set(['ingest', 'init', 'serve']));
  });

  it.each(runs.map((c) => [`${c.line}: iotctl ${c.text.slice('iotctl '.length)}`, c] as const))(
    'README %s',
    async (_name, c) => {
      const r = await runMain([...c.args, '--db', dir]);
      const codes = allowedCodes(kind, c);
      expect(codes, `exit ${r.code}\n${r.stderr}`).toContain(r.code);
      expect(r.stderr).not.toMatch(/unknown option|unknown command|error: (missing|invalid)|internal error/);
      // Off a terminal compress prints one progress line for the run, not one per chunk.
      if (commandPath(c.args) === 'compress run' && !c.args.includes('--dry-run'))
        expect(r.stderr).toMatch(/^(compressing \d+ chunks? \([^)]*\)\n)?$/);
      // Tables off a terminal: the same box characters, no colour codes.
      if (r.stdout.includes('│')) expect(r.stdout).not.toContain(String.fromCharCode(27));
    },
  );
});
