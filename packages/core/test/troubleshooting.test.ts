import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LoginError } from '../src/index.ts';

const ROOT = join(import.meta.dirname, '../../..');
const codes = [
  ...readFileSync(join(ROOT, 'packages/core/src/safe-output/errors.ts'), 'utf8').matchAll(
    /^\s+\| '([A-Z_]+)'/gm,
  ),
].map((m) => m[1]);
const guide = readFileSync(join(ROOT, 'TROUBLESHOOTING.md'), 'utf8');
const sections = [...guide.matchAll(/^## `([A-Z_]+)`$/gm)].map((m) => m[1]);

describe('TROUBLESHOOTING.md', () => {
  it('has one section for every error code the core can raise, and no other', () => {
    expect(codes.length).toBeGreaterThan(10);
    expect(sections.sort()).toEqual([...codes].sort());
  });

  it('is where every error message links to, by code', () => {
    const error = new LoginError('EXCHANGE_REJECTED', 'Failed to x: y', { hint: 'z' });
    expect(error.helpUrl).toMatch(/\/TROUBLESHOOTING\.md#exchange_rejected$/);
    // GitHub turns "## `EXCHANGE_REJECTED`" into the anchor #exchange_rejected.
    for (const code of sections) expect(code?.toLowerCase()).toMatch(/^[a-z_]+$/);
  });

  it('every code used in the sources is declared', () => {
    const used = new Set<string>();
    for (const dir of readdirSync(join(ROOT, 'packages')).map((p) => `packages/${p}/src`)) {
      const files = readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' });
      for (const file of files.filter((f) => f.endsWith('.ts'))) {
        for (const m of readFileSync(join(ROOT, dir, file), 'utf8').matchAll(
          /new LoginError\(\s*'([A-Z_]+)'/g,
        ))
          used.add(m[1] ?? '');
      }
    }
    for (const code of used) expect(codes).toContain(code);
  });
});
