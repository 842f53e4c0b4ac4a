import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../../..');
const PACKAGES = join(ROOT, 'packages');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : [path];
  });
}

/** Files grouped by basename, keeping only the names that more than one file has. */
function sharedNames(files: string[]): Record<string, string[]> {
  const byName = new Map<string, string[]>();
  for (const file of files) byName.set(basename(file), [...(byName.get(basename(file)) ?? []), file]);
  return Object.fromEntries(
    [...byName]
      .filter(([, all]) => all.length > 1)
      .map(([name, all]) => [name, all.map((f) => relative(ROOT, f))]),
  );
}

const packages = readdirSync(PACKAGES).filter((name) => readdirSync(join(PACKAGES, name)).includes('src'));

// One name, one meaning: a reader who finds `token-cache.ts` knows there is no other one.
describe('source file names', () => {
  it.each(packages)('no two files under packages/%s/src share a name', (name) => {
    expect(sharedNames(sourceFiles(join(PACKAGES, name, 'src')))).toEqual({});
  });

  it("no file of another package has the name of one of the core's files", () => {
    const core = new Set(sourceFiles(join(PACKAGES, 'core/src')).map((f) => basename(f)));
    const clashes = packages
      .filter((name) => name !== 'core')
      .flatMap((name) => sourceFiles(join(PACKAGES, name, 'src')))
      .filter((f) => core.has(basename(f)))
      .map((f) => relative(ROOT, f));
    expect(clashes).toEqual([]);
  });
});

/** The files a source file imports: the relative `'./...'` of its import and export statements. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:(?:import|export)\b[^;]*?\bfrom\s+|import\s+)'(\.{1,2}\/[^']+)'/gms)].map(
    (m) => resolve(dirname(file), m[1] ?? ''),
  );
}

/** Cycles of imports, each as the files around it; a depth-first walk finds one wherever there is any. */
function importCycles(files: string[]): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (file: string): void => {
    const at = path.indexOf(file);
    if (at >= 0) {
      cycles.push([...path.slice(at), file].map((f) => relative(ROOT, f)));
      return;
    }
    if (done.has(file)) return;
    path.push(file);
    for (const imported of importsOf(file)) visit(imported);
    path.pop();
    done.add(file);
  };
  for (const file of files) visit(file);
  return cycles;
}

// Dependencies point one way inside the core too: a file never needs, however indirectly, its own importer.
describe('core imports', () => {
  it('no two files of packages/core/src import each other, directly or through others', () => {
    const files = sourceFiles(join(PACKAGES, 'core/src')).filter((f) => f.endsWith('.ts'));
    expect(importsOf(join(PACKAGES, 'core/src/index.ts')).length).toBeGreaterThan(50);
    expect(importCycles(files)).toEqual([]);
  });
});

// CONTRIBUTING's layout is how a newcomer finds a behaviour: it names every folder of the core, and only real paths.
describe("CONTRIBUTING.md's layout", () => {
  const text = readFileSync(join(ROOT, 'CONTRIBUTING.md'), 'utf8');
  const block = /## Layout\s+```\n([\s\S]*?)```/.exec(text)?.[1] ?? '';
  const named = [...block.matchAll(/^\s+src\/(\S+?)(?:,|\s)/gm)].map((m) => m[1] ?? '');

  it('names only paths that exist in packages/core/src', () => {
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((path) => !existsSync(join(PACKAGES, 'core/src', path)))).toEqual([]);
  });

  it('names every folder of packages/core/src', () => {
    const folders = readdirSync(join(PACKAGES, 'core/src'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => `${entry.name}/`);
    expect(folders.filter((folder) => !named.includes(folder))).toEqual([]);
  });
});
