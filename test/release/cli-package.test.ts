import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../e2e/cli-runner.ts';
import { ROOT } from '../e2e/github-runner.ts';
import { runProcess } from '../e2e/node-process.ts';
import { CiIssuer } from '../emulators/ci-issuers.ts';

// How the command-line tool reaches users: the bin in a clone, the npm package, the release's
// single file. Each is checked from what would ship, run as a separate process.

const json = (path: string) => JSON.parse(readFileSync(join(ROOT, path), 'utf8'));
const cli = json('packages/cli/package.json');
const root = json('package.json');
const BIN = `packages/cli/${cli.bin['databricks-oidc-login']}`;

describe('in a clone', () => {
  it('the bin is a committed, executable file, so `npm ci` links it before any build', () => {
    // `git ls-files -s` shows what a fresh clone gets: mode 100755 and a tracked path.
    const [entry] = execFileSync('git', ['ls-files', '-s', '--', BIN], { cwd: ROOT, encoding: 'utf8' })
      .trim()
      .split('\n');
    expect(entry, `${BIN} is not committed`).toMatch(/^100755 [0-9a-f]{40} 0\t/);
    expect(readFileSync(join(ROOT, BIN), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(readFileSync(join(ROOT, '.gitignore'), 'utf8')).not.toMatch(/^packages\/cli\/dist/m);
  });

  it('CI refuses a stale bundle, as it refuses a stale dist/', () => {
    expect(readFileSync(join(ROOT, '.ci/run'), 'utf8')).toContain(
      'git status --porcelain -- dist packages/cli/dist',
    );
  });
});

describe('the npm package', () => {
  it('is public, named databricks-oidc-login, and does not share its name with the private root', () => {
    expect(cli.name).toBe('databricks-oidc-login');
    expect(cli.private).toBeUndefined();
    expect(root.private).toBe(true);
    expect(root.name).not.toBe(cli.name);
    expect(cli.publishConfig).toEqual({ access: 'public', provenance: true });
    // npm provenance checks that the package says where it was built from.
    expect(cli.repository.url).toBe(root.repository.url);
    expect(cli.repository.directory).toBe('packages/cli');
    expect(cli.dependencies).toBeUndefined();
  });

  let scratch: ReturnType<typeof tempDir>;
  let tarball: string;
  let gitlab: CiIssuer;
  beforeAll(async () => {
    scratch = tempDir('cli-package-');
    // --ignore-scripts: pack the committed bundle (checked fresh above) without rebuilding it
    // under other tests that are reading it.
    execFileSync(
      'npm',
      ['pack', '--workspace', 'packages/cli', '--ignore-scripts', '--pack-destination', scratch.path],
      { cwd: ROOT, stdio: 'pipe' },
    );
    tarball = join(scratch.path, readdirSync(scratch.path).find((f) => f.endsWith('.tgz')) ?? '');
    gitlab = await CiIssuer.create('gitlab');
  }, 60_000);
  afterAll(() => scratch?.remove());

  it('installs offline into an empty folder and runs --help and explain', async () => {
    const app = join(scratch.path, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}\n');
    // --offline: the package must need nothing from the registry (one file, no dependencies).
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], {
      cwd: app,
      stdio: 'pipe',
    });
    const bin = join(app, 'node_modules', '.bin', 'databricks-oidc-login');
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: scratch.path };

    const help = await runProcess(bin, ['--help'], env, { cwd: app });
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain('Usage: databricks-oidc-login COMMAND [options]');

    const version = await runProcess(bin, ['--version'], env, { cwd: app });
    expect(version.stdout.trim()).toBe(root.version);

    const explain = await runProcess(
      bin,
      ['explain'],
      { ...env, GITLAB_CI: 'true', DATABRICKS_OIDC_TOKEN: await gitlab.mint('https://databricks.example') },
      { cwd: app },
    );
    expect(explain.code, explain.stderr).toBe(0);
    expect(explain.stdout).toContain('issuer   (iss): https://gitlab.com');
    expect(explain.stdout).toContain('service-principal-federation-policy create');

    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').sort();
    expect(files).toEqual(['package/dist/databricks-oidc-login.cjs', 'package/package.json']);
  }, 60_000);
});
