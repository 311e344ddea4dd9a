// `iotctl --help` must not load pg or PGlite: walk the static import graph of the built CLI.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// npm test builds dist/ before vitest runs.
const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist');
const staticImport = /^\s*import\s+(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]/gm;

function staticGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(staticImport)) {
      const spec = m[1] as string;
      if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec));
      else packages.add(spec);
    }
  };
  visit(entry);
  return { files, packages };
}

describe('start-up cost', () => {
  it('the CLI entry does not statically import pg or PGlite', () => {
    const { packages, files } = staticGraph(path.join(dist, 'cli.js'));
    expect(files.size).toBeGreaterThan(3);
    const heavy = [...packages].filter((p) => /^(pg|pg-copy-streams|@unni-craftsman\/pglite)(\/|$)/.test(p));
    expect(heavy).toEqual([]);
  });
});
