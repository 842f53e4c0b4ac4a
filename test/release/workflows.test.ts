import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../e2e/github-runner.ts';

// The workflows cannot run here, so they are checked offline with GitHub's own workflow parser
// (@actions/workflow-parser, the schema behind the Actions language service): every key, value
// and expression must be valid, and action.yml must satisfy the action schema. Then what each
// workflow must do is checked on the parsed YAML.

type Parser = typeof import('@actions/workflow-parser') &
  typeof import('@actions/workflow-parser/actions/action-parser');

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  if?: string;
  shell?: string;
}
interface Job {
  name?: string;
  'runs-on'?: string;
  if?: string;
  needs?: string | string[];
  uses?: string;
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  strategy?: { matrix: Record<string, unknown[]> };
  steps?: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, Job>;
}

const WORKFLOWS = join(ROOT, '.github/workflows');
const text = (file: string) => readFileSync(join(WORKFLOWS, file), 'utf8');
const workflow = (file: string) => parse(text(file)) as Workflow;
const steps = (w: Workflow) => Object.values(w.jobs).flatMap((j) => j.steps ?? []);
/** A GitHub expression, `${{ e }}`, written so it is not mistaken for a JavaScript template. */
const ex = (e: string) => `\${{ ${e} }}`;

let parser: Parser;
let scratch: string;

beforeAll(async () => {
  // The package's ESM imports its JSON schemas without import attributes, which Node refuses;
  // bundling it once with esbuild (already a dev dependency) makes it loadable.
  scratch = mkdtempSync(join(tmpdir(), 'workflow-parser-'));
  const outfile = join(scratch, 'workflow-parser.mjs');
  await build({
    stdin: {
      contents:
        "export * from '@actions/workflow-parser';\nexport { parseAction } from '@actions/workflow-parser/actions/action-parser';",
      resolveDir: ROOT,
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile,
    logLevel: 'silent',
  });
  parser = (await import(pathToFileURL(outfile).href)) as Parser;
}, 60_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function workflowErrors(name: string, content: string): string[] {
  const result = parser.parseWorkflow({ name, content }, new parser.NoOperationTraceWriter());
  return result.context.errors.getErrors().map((e) => e.message);
}

describe('workflows and action.yml against GitHub’s schemas', () => {
  it('finds the mistakes it is meant to find', () => {
    expect(
      workflowErrors('bad.yml', 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz: []\n'),
    ).toEqual([expect.stringContaining("Unexpected value 'stepz'")]);
    const broken = parser.parseAction(
      {
        name: 'action.yml',
        content: readFileSync(join(ROOT, 'action.yml'), 'utf8').replace('node24', 'node99'),
      },
      new parser.NoOperationTraceWriter(),
    );
    expect(broken.context.errors.getErrors().map((e) => e.message)).toEqual([
      expect.stringContaining("Unexpected value 'node99'"),
    ]);
  });

  it('accepts every workflow', () => {
    const files = readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f));
    expect(files.sort()).toEqual(['ci.yml', 'release.yml', 'self-test.yml']);
    for (const file of files) expect(workflowErrors(file, text(file)), file).toEqual([]);
  });

  it('accepts action.yml', () => {
    const result = parser.parseAction(
      { name: 'action.yml', content: readFileSync(join(ROOT, 'action.yml'), 'utf8') },
      new parser.NoOperationTraceWriter(),
    );
    expect(result.context.errors.getErrors().map((e) => e.message)).toEqual([]);
  });

  it('pins every action to a release tag, never a branch', () => {
    for (const file of readdirSync(WORKFLOWS)) {
      for (const step of steps(workflow(file)).filter((s) => s.uses && s.uses !== './'))
        expect(step.uses, `${file}: ${step.uses}`).toMatch(
          /^[\w.-]+\/[\w.-]+@(v\d+(\.\d+\.\d+)?|[0-9a-f]{40})$/,
        );
    }
  });
});

describe('ci.yml', () => {
  const ci = workflow('ci.yml');

  it('runs .ci/run on pushes and pull requests, with the Node version of .nvmrc', () => {
    expect(Object.keys(ci.on)).toEqual(expect.arrayContaining(['push', 'pull_request']));
    expect(steps(ci).map((s) => s.run)).toContain('bash .ci/run');
    for (const s of steps(ci).filter((s) => s.uses?.startsWith('actions/setup-node@')))
      expect(s.with?.['node-version-file']).toBe('.nvmrc');
    expect(ci.permissions).toEqual({ contents: 'read' });
  });

  it('shows a stale dist/ as a check of its own', () => {
    const dist = Object.values(ci.jobs).find((j) =>
      j.steps?.some((s) => s.run?.includes('git status --porcelain -- dist')),
    );
    expect(dist?.name).toMatch(/dist/);
    const runs = dist?.steps?.map((s) => s.run ?? '') ?? [];
    expect(runs.findIndex((r) => r.includes('npm run build'))).toBeLessThan(
      runs.findIndex((r) => r.includes('git status --porcelain -- dist')),
    );
    expect(runs.join('\n')).toMatch(/exit 1/);
  });
});

describe('release.yml', () => {
  const release = workflow('release.yml');
  const job = release.jobs.release as Job;
  const jobSteps = job.steps ?? [];
  const index = (pattern: RegExp) => jobSteps.findIndex((s) => pattern.test(s.run ?? ''));

  it('is started by hand on main, and may push tags', () => {
    expect(Object.keys(release.on)).toEqual(['workflow_dispatch']);
    expect(job.if).toBe("github.ref == 'refs/heads/main'");
    expect(release.permissions).toEqual({ contents: 'write' });
  });

  it('checks everything, then tags vX.Y.Z, moves vX, and attaches the .vsix', () => {
    const ciRun = index(/^bash \.ci\/run$/);
    const tag = index(/git tag -a "v\$VERSION"/);
    expect(ciRun).toBeGreaterThan(-1);
    expect(ciRun).toBeLessThan(tag);
    const tagging = jobSteps[tag]?.run ?? '';
    expect(tagging).toContain('git tag -fa "v$MAJOR"');
    expect(tagging).toContain('git push --force origin "refs/tags/v$MAJOR"');
    expect(index(/npm run package -- build\/databricks-oidc-login-.*\.vsix/)).toBeLessThan(
      index(/gh release create .*\.vsix/),
    );
    expect(index(/already tagged/)).toBeLessThan(tag);
  });

  it('attaches the CLI bundle with a SHA-256 file that sha256sum -c accepts', () => {
    const checksum = (job.steps ?? []).find((s) => s.run?.includes('databricks-oidc-login.cjs.sha256'));
    const dir = mkdtempSync(join(tmpdir(), 'release-cli-'));
    try {
      mkdirSync(join(dir, 'build'));
      mkdirSync(join(dir, 'packages/cli/dist'), { recursive: true });
      copyFileSync(
        join(ROOT, 'packages/cli/dist/databricks-oidc-login.cjs'),
        join(dir, 'packages/cli/dist/databricks-oidc-login.cjs'),
      );
      execFileSync('bash', ['-e', '-c', checksum?.run ?? 'exit 1'], {
        cwd: dir,
        env: { PATH: process.env.PATH },
      });
      // What a job that downloads the two files runs.
      execFileSync('sha256sum', ['-c', 'databricks-oidc-login.cjs.sha256'], { cwd: join(dir, 'build') });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const create = (job.steps ?? [])[index(/gh release create/)]?.run ?? '';
    expect(create).toContain('build/databricks-oidc-login.cjs build/databricks-oidc-login.cjs.sha256');
    expect(index(/databricks-oidc-login\.cjs\.sha256/)).toBeLessThan(index(/gh release create/));
    const attest = (job.steps ?? []).find((s) => s.uses?.startsWith('actions/attest-build-provenance@'));
    expect(attest?.with).toEqual({ 'subject-path': 'build/databricks-oidc-login.cjs' });
    expect(job.permissions).toMatchObject({ 'id-token': 'write', attestations: 'write' });
  });

  it('publishes the CLI package to npm with provenance, from the tag, after the release', () => {
    const npm = release.jobs.npm as Job;
    expect(npm.needs).toBe('release');
    expect(npm.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
    expect((npm.steps ?? [])[0]).toMatchObject({
      uses: 'actions/checkout@v5',
      with: { ref: `v${ex('needs.release.outputs.version')}` },
    });
    const runs = (npm.steps ?? []).map((s) => s.run ?? '');
    expect(runs.indexOf('npm ci --no-audit --no-fund')).toBeLessThan(
      runs.findIndex((r) => r.startsWith('npm publish')),
    );
    expect(runs).toContain('npm publish --workspace packages/cli --provenance --access public');
    expect((npm.steps ?? []).find((s) => s.uses?.startsWith('actions/setup-node@'))?.with).toMatchObject({
      'node-version-file': '.nvmrc',
      'registry-url': 'https://registry.npmjs.org',
    });
  });

  it('pushes the container image to ghcr.io with provenance, tagged X.Y.Z and X, and attests it', () => {
    const image = release.jobs.image as Job;
    expect(image.needs).toBe('release');
    expect(image.permissions).toMatchObject({
      packages: 'write',
      'id-token': 'write',
      attestations: 'write',
    });
    expect(image.env?.IMAGE).toBe(`ghcr.io/${ex('github.repository')}`);
    const push = (image.steps ?? []).find((s) => s.uses?.startsWith('docker/build-push-action@'));
    expect(push?.with).toMatchObject({ file: 'Dockerfile', push: true, provenance: 'mode=max' });
    expect(String(push?.with?.tags).trim().split('\n')).toEqual([
      `${ex('env.IMAGE')}:${ex('needs.release.outputs.version')}`,
      `${ex('env.IMAGE')}:${ex('needs.release.outputs.major')}`,
    ]);
    const attest = (image.steps ?? []).find((s) => s.uses?.startsWith('actions/attest-build-provenance@'));
    expect(attest?.with).toMatchObject({
      'subject-digest': ex('steps.push.outputs.digest'),
      'push-to-registry': true,
    });
    expect((image.steps ?? []).find((s) => s.uses?.startsWith('docker/login-action@'))?.with).toMatchObject({
      registry: 'ghcr.io',
    });
  });

  it('needs the self-test of this commit on Linux, Windows and macOS to pass first', () => {
    expect(job.needs).toBe('self-test');
    expect(release.jobs['self-test']).toEqual({
      if: "github.ref == 'refs/heads/main'",
      uses: './.github/workflows/self-test.yml',
      permissions: { contents: 'read' },
    });
    expect(Object.keys(workflow('self-test.yml').on)).toContain('workflow_call');
  });

  it('takes the release notes from CHANGELOG.md', () => {
    const notes = jobSteps.find((s) => s.name === 'Release notes from CHANGELOG.md');
    const dir = mkdtempSync(join(tmpdir(), 'release-notes-'));
    try {
      copyFileSync(join(ROOT, 'CHANGELOG.md'), join(dir, 'CHANGELOG.md'));
      mkdirSync(join(dir, 'build'));
      const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
      execFileSync('bash', ['-e', '-c', notes?.run ?? 'exit 1'], {
        cwd: dir,
        env: { PATH: process.env.PATH, VERSION: version },
      });
      const written = readFileSync(join(dir, 'build/release-notes.md'), 'utf8');
      expect(written).toContain('### Added');
      expect(written).not.toContain('## [');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('self-test.yml', () => {
  const selfTest = workflow('self-test.yml');
  const job = Object.values(selfTest.jobs)[0] as Job;
  const jobSteps = job.steps ?? [];

  it('runs the action from the checkout on ubuntu, windows and macos, in both modes', () => {
    expect(job.strategy?.matrix.os).toEqual(['ubuntu-latest', 'windows-latest', 'macos-latest']);
    expect(job.strategy?.matrix.mode).toEqual(['token', 'refresh']);
    const login = jobSteps.find((s) => s.uses === './');
    // GitHub expressions, not JavaScript templates.
    const expression = (name: string) => ['$', `{{ env.${name} }}`].join('');
    expect(login?.with).toMatchObject({
      host: expression('SELFTEST_HOST'),
      'client-id': expression('SELFTEST_CLIENT_ID'),
    });
  });

  it('cannot need a secret: no secrets, and no id-token permission', () => {
    expect(text('self-test.yml')).not.toMatch(/secrets\./);
    expect(selfTest.permissions).toEqual({ contents: 'read' });
    expect(jobSteps.at(-1)).toMatchObject({ if: 'always()', run: 'node build/self-test.mjs stop' });
  });

  it('in mode refresh calls databricks-oidc-token from bash, pwsh and cmd (with call, Windows only)', () => {
    const inShell = (shell: string) =>
      jobSteps.filter((s) => s.shell === shell && /databricks-oidc-token/.test(s.run ?? ''));
    for (const shell of ['bash', 'pwsh', 'cmd']) {
      expect(inShell(shell), shell).toHaveLength(1);
      expect(inShell(shell)[0]?.if, shell).toMatch(/^matrix\.mode == 'refresh'/);
    }
    expect(inShell('cmd')[0]?.if).toBe("matrix.mode == 'refresh' && runner.os == 'Windows'");
    const cmd = inShell('cmd')[0]?.run ?? '';
    // Every line that runs the .cmd directly uses call; for /f runs it in a cmd of its own.
    for (const line of cmd
      .split('\n')
      .filter((l) => /^\s*databricks-oidc-token|[&|]\s*databricks-oidc-token/.test(l)))
      expect(line).toMatch(/\bcall databricks-oidc-token/);
    expect(cmd).toMatch(/^call databricks-oidc-token .*\|\| exit \/b 1$/m);
    // Its last line leaves a mark that a later step checks: proof the script went on after call.
    const mark = jobSteps.findIndex((s) => s.run?.includes('cmd-step-went-on') && s.shell === 'bash');
    expect(mark).toBe(jobSteps.indexOf(inShell('cmd')[0] as Step) + 1);
  });

  it('then runs the SDK across a token expiry, and checks that the post step leaves no service running', () => {
    const at = (command: string) =>
      jobSteps.findIndex((s) => s.run === `node build/self-test.mjs ${command}`);
    const login = jobSteps.findIndex((s) => s.uses === './');
    expect(login).toBeGreaterThan(at('start'));
    expect(jobSteps[at('start')]?.env).toEqual({ SELFTEST_MODE: ['$', '{{ matrix.mode }}'].join('') });
    for (const shell of ['bash', 'pwsh', 'cmd'])
      expect(
        jobSteps.findIndex((s) => s.shell === shell && s.run?.includes('databricks-oidc-token')),
      ).toBeLessThan(at('verify-across-expiry'));
    expect(at('verify-across-expiry')).toBeLessThan(at('check-post'));
    expect(at('check-post')).toBe(jobSteps.length - 2);
    expect(jobSteps[at('verify-across-expiry')]?.if).toBe("matrix.mode == 'refresh'");
    expect(jobSteps[at('check-post')]?.if).toBe("matrix.mode == 'refresh'");
  });
});

describe('dependabot.yml', () => {
  // No schema for it is published on npm, so its few rules are checked by hand.
  const config = parse(readFileSync(join(ROOT, '.github/dependabot.yml'), 'utf8')) as {
    version: number;
    updates: Array<{ 'package-ecosystem': string; directory: string; schedule: { interval: string } }>;
  };

  it('updates npm packages, GitHub Actions and the Dockerfile base image, weekly', () => {
    expect(config.version).toBe(2);
    expect(config.updates.map((u) => u['package-ecosystem']).sort()).toEqual([
      'docker',
      'github-actions',
      'npm',
    ]);
    for (const update of config.updates) {
      expect(update.directory).toBe('/');
      expect(['daily', 'weekly', 'monthly']).toContain(update.schedule.interval);
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const instructions = dockerfile
    .split('\n')
    .filter((l) => /^[A-Z]+ /.test(l))
    .map((l) => l.split(' ')[0]);

  it('pins its base image by digest', () => {
    expect(dockerfile).toMatch(/^ARG BASE=node:\d+-[\w-]+@sha256:[0-9a-f]{64}$/m);
    expect(dockerfile).toMatch(/^FROM \$\{BASE\}$/m);
  });

  it('runs the committed CLI bundle as its entrypoint, as a numeric non-root user, with no RUN step', () => {
    expect(instructions).not.toContain('RUN');
    expect(dockerfile).toContain(
      'COPY --chmod=0755 packages/cli/dist/databricks-oidc-login.cjs /usr/local/bin/databricks-oidc-login',
    );
    expect(dockerfile).toMatch(/^USER [1-9]\d*:[1-9]\d*$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["databricks-oidc-login"\]$/m);
    // The build context is only that file.
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore).toEqual(['*', '!packages/cli/dist/databricks-oidc-login.cjs']);
  });
});
