/**
 * The import graph stays free of cycles (DESIGN-NEXT §4): no file of src imports one that imports it
 * back, however long the way round; and the CLI's commands import only its leaves.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const SRC = path.join(__dirname, '../../src');

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Relative module specifiers of `import ... from '...'`, `export ... from '...'` and `import '...'`. */
export function importsOf(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/(?:\bfrom\s+|\bimport\s+)['"](\.[^'"]*)['"]/g)) out.push(m[1]!);
  return out;
}

function resolve(from: string, spec: string): string | null {
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [`${base}.ts`, path.join(base, 'index.ts'), base]) if (fs.existsSync(c) && fs.statSync(c).isFile()) return c;
  return null;
}

/** The graph's strongly connected components that are cycles (more than one file, or a file importing itself). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

function srcGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of tsFiles(SRC)) {
    const deps = importsOf(fs.readFileSync(f, 'utf8'))
      .map((s) => resolve(f, s))
      .filter((d): d is string => d !== null);
    graph.set(path.relative(SRC, f), deps.map((d) => path.relative(SRC, d)));
  }
  return graph;
}

describe('import cycles', () => {
  test('the detector finds a cycle through three files, and none in a chain', () => {
    expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual([['a', 'b', 'c']]);
    expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', []]]))).toEqual([]);
    expect(importsOf("import { x } from './a';\nimport type { Y } from '../b';\nexport * from './c';\nimport './d';\nimport * as fs from 'node:fs';")).toEqual([
      './a',
      '../b',
      './c',
      './d',
    ]);
  });

  test('the graph is read: cli/main.ts imports cli/commands.ts', () => {
    expect(srcGraph().get(path.join('cli', 'main.ts'))).toContain(path.join('cli', 'commands.ts'));
  });

  test('no import cycle anywhere in src', () => {
    expect(cycles(srcGraph()).map((c) => c.join(' <-> '))).toEqual([]);
  });

  test('each command imports only the leaves of src/cli', () => {
    const leaves = ['command.ts', 'io.ts', 'flags.ts', 'input-flags.ts', 'selection.ts', 'format.ts'].map((f) => path.join('cli', f));
    const hubs = ['main.ts', 'commands.ts'].map((f) => path.join('cli', f));
    const wrong: string[] = [];
    for (const [file, deps] of srcGraph()) {
      if (!file.startsWith(`cli${path.sep}`) || hubs.includes(file)) continue;
      for (const d of deps) if (d.startsWith(`cli${path.sep}`) && !leaves.includes(d)) wrong.push(`${file} -> ${d}`);
    }
    expect(wrong).toEqual([]);
  });
});
