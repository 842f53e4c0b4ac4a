import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../e2e/github-runner.ts';
import { README } from './readme.ts';

// One Node version story. Working on the repository (npm ci, the tests, the demo) needs the
// root `engines`; .nvmrc is what CI runs; the prose says the same. Every package in the lockfile
// must accept the lowest version `engines` allows, or `npm ci` prints EBADENGINE for a version we
// call supported. The published CLI and library have their own, lower floor: their bundles'.

const json = (path: string) => JSON.parse(readFileSync(join(ROOT, path), 'utf8'));
const engines: string = json('package.json').engines.node;
const nvmrc = readFileSync(join(ROOT, '.nvmrc'), 'utf8').trim();
const floor = semver.minVersion(engines)?.version ?? '';
const floorProse = floor.replace(/\.0$/, '');

describe('the Node version for working on the repository', () => {
  it('is one range, and .nvmrc (what CI runs) is inside it', () => {
    expect(semver.validRange(engines), engines).not.toBeNull();
    expect(nvmrc).toMatch(/^\d+$/);
    expect(semver.satisfies(`${nvmrc}.0.0`, engines), `.nvmrc ${nvmrc} vs engines ${engines}`).toBe(true);
  });

  it('is accepted by every package npm ci installs, so none prints EBADENGINE', () => {
    const lock = json('package-lock.json') as {
      packages: Record<string, { engines?: { node?: string } | string[] }>;
    };
    const problems: string[] = [];
    for (const version of [floor, `${nvmrc}.0.0`]) {
      for (const [path, entry] of Object.entries(lock.packages)) {
        const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
        if (path && range && !semver.satisfies(version, range))
          problems.push(`${path} needs node ${range}, but ${version} is declared supported`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('is what README and CONTRIBUTING tell contributors', () => {
    const sentence = `Node.js ${floorProse} or later`;
    expect(README).toContain(sentence);
    expect(readFileSync(join(ROOT, 'CONTRIBUTING.md'), 'utf8')).toContain(sentence);
    // No other "Node.js X or later" for the repository anywhere in them.
    for (const text of [README, readFileSync(join(ROOT, 'CONTRIBUTING.md'), 'utf8')])
      for (const m of text.matchAll(/Node\.js (\d+(?:\.\d+)*) or later/g)) expect(m[1]).toBe(floorProse);
  });
});

describe('the Node version for running the published tools', () => {
  it('is the floor the bundles are built for, and the README says it', () => {
    const target = /target: 'node(\d+)'/.exec(readFileSync(join(ROOT, 'scripts/build.mjs'), 'utf8'))?.[1];
    expect(target).toBeDefined();
    for (const dir of ['cli', 'core'])
      expect(json(`packages/${dir}/package.json`).engines.node, dir).toBe(`>=${target}`);
    expect(README).toContain(`Node ${target} or later`);
  });
});
