// Commands stay thin: each register* parses flags, calls one data function and hands the result to a printer.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const commandsDir = path.resolve(import.meta.dirname, '../../src/commands');

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('command files', () => {
  it('no file in src/commands is over 250 lines, no register* function over 80', () => {
    const problems: string[] = [];
    for (const f of files(commandsDir)) {
      const lines = fs.readFileSync(f, 'utf8').split('\n');
      const name = path.relative(commandsDir, f);
      if (lines.length > 250) problems.push(`${name}: ${lines.length} lines`);
      lines.forEach((line, i) => {
        const m = /^export function (register\w+)/.exec(line);
        if (!m) return;
        const end = lines.findIndex((l, j) => j > i && l === '}');
        if (end - i + 1 > 80) problems.push(`${name}: ${m[1]} is ${end - i + 1} lines`);
      });
    }
    expect(problems).toEqual([]);
  });
});
