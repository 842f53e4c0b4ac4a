import { readdirSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
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
