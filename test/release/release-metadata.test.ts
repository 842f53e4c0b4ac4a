import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { RELEASE_REPOSITORY, RELEASE_VERSION, TROUBLESHOOTING_URL } from '../../packages/core/src/index.ts';
import { RELEASE, repositorySlug } from '../../scripts/release-info.mjs';
import { TASK_DIR } from '../e2e/azure-devops-agent.ts';
import { ROOT, runActionStep } from '../e2e/github-runner.ts';
import { type Emulators, startEmulators } from '../emulators/index.ts';
import { GUIDES, USER_DOCS } from './readme.ts';

// The root package.json's `version` and `repository` are the one source of truth. The bundles and
// the sources get them injected at build time; the manifests that cannot be templated are checked
// here, so a release cannot ship with two versions or links to another repository.

const json = (path: string) => JSON.parse(readFileSync(join(ROOT, path), 'utf8'));
const rootPackage = json('package.json');
const { version, repository: slug } = RELEASE;
const [major, minor, patch] = version.split('.').map(Number);
const repoUrl = `https://github.com/${slug}`;

describe('one version and one repository', () => {
  it('come from the root package.json', () => {
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(slug).toMatch(/^[\w.-]+\/[\w.-]+$/);
    expect(version).toBe(rootPackage.version);
    expect(repositorySlug(rootPackage.repository)).toBe(slug);
    expect(repositorySlug('git+https://github.com/a/b.git')).toBe('a/b');
    expect(() => repositorySlug('https://example.com/a/b')).toThrow(/not a GitHub URL/);
  });

  it('reach the sources as they reach the bundles', () => {
    expect(RELEASE_VERSION).toBe(version);
    expect(RELEASE_REPOSITORY).toBe(slug);
    // Error links lead to the docs of the release the user runs, not to a moving branch.
    expect(TROUBLESHOOTING_URL).toBe(`${repoUrl}/blob/v${version}/TROUBLESHOOTING.md`);
  });

  it('are the version of every workspace package', () => {
    for (const dir of readdirSync(join(ROOT, 'packages'))) {
      expect(json(`packages/${dir}/package.json`).version, `packages/${dir}/package.json`).toBe(version);
    }
    const lock = json('package-lock.json');
    expect(lock.version).toBe(version);
    expect(lock.packages[''].version).toBe(version);
  });

  it('are in task.json: version, help links', () => {
    const task = json('azure-devops-extension/DatabricksOidcLoginV1/task.json');
    expect(task.version, 'task.json version = package.json version').toEqual({
      Major: major,
      Minor: minor,
      Patch: patch,
    });
    expect(task.helpUrl.startsWith(repoUrl)).toBe(true);
    for (const link of task.helpMarkDown.matchAll(/\]\((https:[^)]+)\)/g)) expect(link[1]).toContain(repoUrl);
    expect(task.releaseNotes).toContain(version);
  });

  it('are in vss-extension.json: version, links, repository', () => {
    const extension = json('azure-devops-extension/vss-extension.json');
    expect(extension.version, 'vss-extension.json version = package.json version').toBe(version);
    expect(extension.repository).toEqual({ type: 'git', uri: repoUrl });
    for (const [name, link] of Object.entries(extension.links as Record<string, { uri: string }>))
      expect(link.uri.startsWith(repoUrl), `links.${name}`).toBe(true);
    expect(extension.galleryFlags).toContain('Preview');
    const overview = readFileSync(
      join(ROOT, 'azure-devops-extension', extension.content.details.path),
      'utf8',
    );
    const links = [...overview.matchAll(/\]\((https:[^)]+)\)/g)].map((m) => m[1] ?? '');
    expect(links.length).toBeGreaterThan(3);
    for (const link of links) expect(link.startsWith(repoUrl), link).toBe(true);
    expect(extension.content.license.path).toBe('LICENSE');
  });

  it('are what action.yml, the README, its guides and the changelog name', () => {
    const actionYml = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8'));
    expect(actionYml.author).toBe(slug.split('/')[0]);
    expect(actionYml.runs.using).toBe('node24');
    // Every use of this action in the README and the guides is `<repository>@v<major>`.
    const uses = [...USER_DOCS.matchAll(/uses: ([\w.-]+\/[\w.-]+)@(\S+)/g)].filter(
      (m) => m[1]?.split('/')[1] === slug.split('/')[1],
    );
    expect(uses.length).toBeGreaterThan(1);
    for (const m of uses) expect(`${m[1]}@${m[2]}`).toBe(`${slug}@v${major}`);
    for (const m of USER_DOCS.matchAll(/DatabricksOidcLogin@(\d+)/g)) expect(Number(m[1])).toBe(major);
    const changelog = readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8');
    expect(changelog).toMatch(new RegExp(`^## \\[${version.replace(/\./g, '\\.')}\\]`, 'm'));
    expect(changelog).toContain(`${repoUrl}/releases/tag/v${version}`);
  });

  it('are baked into both built task and action bundles', () => {
    for (const bundle of [join(ROOT, 'dist/main.cjs'), join(TASK_DIR, 'main.js')]) {
      const text = readFileSync(bundle, 'utf8');
      expect(text).toContain(JSON.stringify(version));
      expect(text).toContain(JSON.stringify(slug));
      expect(text).not.toContain('__RELEASE_VERSION__');
    }
  });
});

describe('npm version', () => {
  it('copies the new version into the files that cannot read package.json, keeping their format', () => {
    expect(rootPackage.scripts.version).toContain('node scripts/sync-version.mjs');
    const dir = mkdtempSync(join(tmpdir(), 'sync-version-'));
    try {
      const files = [
        ...readdirSync(join(ROOT, 'packages')).map((p) => `packages/${p}/package.json`),
        'azure-devops-extension/vss-extension.json',
        'azure-devops-extension/DatabricksOidcLoginV1/task.json',
        'README.md',
        ...Object.keys(GUIDES),
      ];
      for (const file of files) cpSync(join(ROOT, file), join(dir, file));
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...rootPackage, version: '2.3.4' }));
      execFileSync(process.execPath, [join(ROOT, 'scripts/sync-version.mjs'), dir], { stdio: 'pipe' });
      const read = (file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8'));
      expect(read('azure-devops-extension/vss-extension.json').version).toBe('2.3.4');
      expect(read('azure-devops-extension/DatabricksOidcLoginV1/task.json').version).toEqual({
        Major: 2,
        Minor: 3,
        Patch: 4,
      });
      for (const file of files.filter((f) => f.startsWith('packages/')))
        expect(read(file).version).toBe('2.3.4');
      // The docs' pins of the CLI release follow, in every file that has them.
      const cliGuide = readFileSync(join(dir, 'docs/other-cis-and-kubernetes.md'), 'utf8');
      expect(cliGuide).toContain('databricks-oidc-login@2.3.4 exec');
      expect(cliGuide).toContain('/releases/download/v2.3.4/databricks-oidc-login.cjs');
      expect(cliGuide).toContain(`ghcr.io/${slug}:2.3.4`);
      for (const file of ['README.md', ...Object.keys(GUIDES)])
        expect(readFileSync(join(dir, file), 'utf8'), file).not.toContain(`@${version} exec`);
      // Only the version changed: the files stay as Biome formats them.
      const before = readFileSync(join(ROOT, 'azure-devops-extension/vss-extension.json'), 'utf8');
      const after = readFileSync(join(dir, 'azure-devops-extension/vss-extension.json'), 'utf8');
      expect(after).toBe(before.replace(`"version": "${version}"`, '"version": "2.3.4"'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the built action reports the release it is', () => {
  let emu: Emulators;
  beforeEach(async () => {
    emu = await startEmulators();
  });
  afterEach(async () => {
    await emu.stop();
  });

  it('sends User-Agent databricks-oidc-login/<version>, and links errors to that release', async () => {
    const ok = await runActionStep('main', {
      inputs: { host: emu.databricks.url, 'client-id': emu.servicePrincipal.applicationId },
      env: emu.github.env,
    });
    expect(ok.code).toBe(0);
    const exchange = emu.databricks.requestsTo('/oidc/v1/token')[0];
    expect(exchange?.headers['user-agent']).toBe(`databricks-oidc-login/${version}`);

    const failed = await runActionStep('main', { inputs: { host: '' }, env: emu.github.env });
    expect(failed.code).not.toBe(0);
    expect(failed.errors.join('\n')).toContain(`${repoUrl}/blob/v${version}/TROUBLESHOOTING.md#host_missing`);
  });
});
