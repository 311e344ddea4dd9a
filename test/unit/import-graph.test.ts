// No import cycles in src/: walk every module's imports (static, re-exports, `import type` and dynamic
// `import()` alike, as the TypeScript scanner sees them) and fail naming each cycle found.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** Relative imports of each file, resolved to files under src/ (`./x.js` is `./x.ts` on disk). */
function importGraph(files: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    const targets = info.importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => {
        const resolved = path.resolve(path.dirname(file), spec);
        const candidates = [
          resolved.replace(/\.js$/, '.ts'),
          resolved,
          `${resolved}.ts`,
          `${resolved}/index.ts`,
        ];
        return candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile()) ?? resolved;
      });
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** The cycle closed by each back edge of a depth-first walk, as `a.ts -> b.ts -> a.ts`: none iff acyclic. */
function findCycles(graph: Map<string, string[]>, root: string): string[] {
  const onStack = new Set<string>();
  const done = new Set<string>();
  const stack: string[] = [];
  const cycles = new Set<string>();
  const visit = (file: string) => {
    onStack.add(file);
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (onStack.has(next)) {
        const loop = stack.slice(stack.indexOf(next)).map((f) => path.relative(root, f));
        // Start each cycle at its smallest member so one cycle found from two places is reported once.
        const first = loop.indexOf([...loop].sort()[0] as string);
        const rotated = [...loop.slice(first), ...loop.slice(0, first)];
        cycles.add([...rotated, rotated[0]].join(' -> '));
      } else if (!done.has(next) && graph.has(next)) {
        visit(next);
      }
    }
    stack.pop();
    onStack.delete(file);
    done.add(file);
  };
  for (const file of [...graph.keys()].sort()) if (!done.has(file)) visit(file);
  return [...cycles].sort();
}

describe('import graph of src/', () => {
  it('has no import cycles', () => {
    const files = sourceFiles(src);
    expect(files.length).toBeGreaterThan(20);
    const graph = importGraph(files);
    // The walk sees the imports: cli.ts reaches the command list, connect.ts its lazy drivers.
    expect(graph.get(path.join(src, 'cli.ts'))).toContain(path.join(src, 'commands/index.ts'));
    expect(graph.get(path.join(src, 'db/connect.ts'))).toContain(path.join(src, 'db/server.ts'));
    expect(findCycles(graph, src)).toEqual([]);
  });

  it('finds a cycle, however it is imported', () => {
    const a = '/x/a.ts';
    const b = '/x/b.ts';
    const c = '/x/c.ts';
    const graph = new Map([
      [a, [b]],
      [b, [c]],
      [c, [a]],
      ['/x/d.ts', [a]],
    ]);
    expect(findCycles(graph, '/x')).toEqual(['a.ts -> b.ts -> c.ts -> a.ts']);
    expect(
      findCycles(
        new Map([
          [a, [b]],
          [b, []],
        ]),
        '/x',
      ),
    ).toEqual([]);
  });
});
