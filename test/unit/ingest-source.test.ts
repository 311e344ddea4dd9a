// Input resolution: globs, stdin, and the rejects file kept out of the inputs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveInputs } from '../../src/ingest/source.js';

describe('ingest inputs', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-inputs-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const f of ['a.csv', 'b.csv', 'rejects.ndjson']) fs.writeFileSync(path.join(dir, f), 'x\n');

  it('a glob that matches the rejects file does not read it back as an input', () => {
    const names = (args: string[], rejects?: string) => resolveInputs(args, rejects).map((s) => s.name);
    expect(names([path.join(dir, '*')])).toHaveLength(3);
    // Another spelling of the same path is the same file.
    const rejects = path.join(dir, '..', path.basename(dir), 'rejects.ndjson');
    expect(names([path.join(dir, '*')], rejects)).toEqual([path.join(dir, 'a.csv'), path.join(dir, 'b.csv')]);
    expect(names(['-', path.join(dir, 'a.csv')], rejects)).toEqual(['-', path.join(dir, 'a.csv')]);
    expect(() => resolveInputs([path.join(dir, 'rej*')], rejects)).toThrow(/no files match/);
  });

  it('the rejects file named as an input, as a hard link or symlink to one, or as stdin is refused (it would truncate the input)', () => {
    const input = path.join(dir, 'a.csv');
    const link = path.join(dir, 'hard-link.csv');
    const sym = path.join(dir, 'sym-link.csv');
    fs.linkSync(input, link);
    fs.symlinkSync(input, sym);
    for (const rejects of [input, link, sym]) {
      expect(() => resolveInputs([input], rejects), rejects).toThrow(
        `--rejects ${rejects} is the input ${input} (the same file): writing it would destroy the input`,
      );
    }
    // A glob that matches a hard link of the rejects file is refused too (the link is not the rejects file).
    expect(() => resolveInputs([path.join(dir, '*.csv')], link)).toThrow(
      /is the input .*a\.csv \(the same file\)/,
    );
    const fd = fs.openSync(input, 'r');
    try {
      expect(() => resolveInputs(['-'], link, fd)).toThrow(`--rejects ${link} is stdin (the same file)`);
      expect(resolveInputs(['-'], path.join(dir, 'new-rejects.ndjson'), fd)).toEqual([{ name: '-' }]);
    } finally {
      fs.closeSync(fd);
      fs.rmSync(link);
      fs.rmSync(sym);
    }
  });
});
