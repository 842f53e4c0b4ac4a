import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { RELEASE } from '../../scripts/release-info.mjs';
import { ROOT } from '../e2e/github-runner.ts';
import { codeBlocks, GUIDES, guide, section, USER_DOCS } from './readme.ts';

// The docs' ways to get the CLI (README and docs/other-cis-and-kubernetes.md) must name what the
// release workflow publishes, at the version being released, and their examples must pin one
// version of each action and image everywhere.

const { version, repository: slug } = RELEASE;
const release = readFileSync(join(ROOT, '.github/workflows/release.yml'), 'utf8');
const BUNDLE_URL = `https://github.com/${slug}/releases/download/v${version}/databricks-oidc-login.cjs`;
const IMAGE = `ghcr.io/${slug}:${version}`;
/** The README section a reader runs in a clone, where the unpinned local bin is the point. */
const BY_HAND = section('### The command-line tool, by hand');
/** The guide for other CIs and Kubernetes, where the CI examples are. */
const CLI_GUIDE = guide('other-cis-and-kubernetes');

describe('docs: getting the command-line tool', () => {
  it('pins the npm package to this release wherever a job fetches it', () => {
    const outsideClone = USER_DOCS.replace(BY_HAND, '');
    const npx = [...outsideClone.matchAll(/npx (?:--yes )?databricks-oidc-login(@\S+)?/g)];
    expect(npx.length).toBeGreaterThan(4);
    for (const m of npx) expect(m[0]).toBe(`npx --yes databricks-oidc-login@${version}`);
  });

  it('downloads the single file the release attaches, and checks its SHA-256 before running it', () => {
    expect(release).toContain('build/databricks-oidc-login.cjs build/databricks-oidc-login.cjs.sha256');
    const downloads = [...USER_DOCS.matchAll(/https:\/\/github\.com\/\S+\/releases\/download\/\S+/g)].map(
      (m) => m[0],
    );
    expect(downloads.length).toBeGreaterThanOrEqual(4);
    for (const url of downloads) expect(url).toBe(BUNDLE_URL);
    // Every download is followed by the check, then the run, in that order.
    const lines = USER_DOCS.split('\n').map((l) => l.trim().replace(/^- /, ''));
    lines.forEach((line, i) => {
      if (!line.includes(BUNDLE_URL)) return;
      expect(lines[i + 1]).toBe(
        'echo "$DATABRICKS_OIDC_LOGIN_SHA256  databricks-oidc-login.cjs" | sha256sum -c -',
      );
      expect(lines[i + 2]).toMatch(/^node databricks-oidc-login\.cjs exec -- /);
    });
  });

  it('shows both ways, the npm package and the checked single file, for GitLab, CircleCI, Bitbucket and Buildkite', () => {
    const gitlab = section('## GitLab CI', CLI_GUIDE);
    const others = section('## CircleCI, Bitbucket, Buildkite, HCP Terraform, Jenkins', CLI_GUIDE);
    expect(gitlab).toContain(`npx --yes databricks-oidc-login@${version} exec`);
    expect(gitlab).toContain(BUNDLE_URL);
    for (const ci of ['CircleCI', 'Bitbucket Pipelines', 'Buildkite']) {
      const blocks = codeBlocks(others, 'yaml').filter((b) => b.includes(`# ${ci}`));
      const text = blocks.map((b) => b.slice(b.indexOf(`# ${ci}`)).split(/\n# /)[0]).join('\n');
      expect(text, ci).toContain(`npx --yes databricks-oidc-login@${version} exec`);
      expect(text, ci).toContain(BUNDLE_URL);
    }
  });

  it('runs the pinned image in the GitLab example and as a read-only, non-root Kubernetes sidecar', () => {
    const images = [...USER_DOCS.matchAll(/ghcr\.io\/[\w./-]+(?::[\w.]+)?/g)].map((m) => m[0]);
    expect(images.length).toBeGreaterThanOrEqual(3);
    for (const image of images) expect(image).toBe(IMAGE);
    expect(release).toContain(`ghcr.io/\${{ github.repository }}`);

    const [gitlabJob] = codeBlocks(section('## GitLab CI', CLI_GUIDE), 'yaml');
    const job = (parse(gitlabJob ?? '') as { deploy: { image: { name: string; entrypoint: string[] } } })
      .deploy;
    expect(job.image).toEqual({ name: IMAGE, entrypoint: [''] });

    const pod = codeBlocks(section('## Kubernetes', CLI_GUIDE), 'yaml')
      .map((b) => parse(b) as { kind?: string; spec?: { initContainers?: Array<Record<string, unknown>> } })
      .find((d) => d.kind === 'Pod');
    const sidecar = pod?.spec?.initContainers?.find((c) => c.image === IMAGE);
    expect(sidecar, 'a sidecar runs the image').toBeDefined();
    // The image's entrypoint is the tool: args only, no npx, nothing fetched at pod start.
    expect(sidecar?.command).toBeUndefined();
    expect((sidecar?.args as string[])[0]).toBe('serve');
    expect(sidecar?.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true });
  });
});

describe('example pins', () => {
  it('use one version of each action everywhere, the one the workflows use', () => {
    const inWorkflows = new Map<string, Set<string>>();
    const record = (map: Map<string, Set<string>>, text: string) => {
      for (const m of text.matchAll(/uses: ([\w.-]+\/[\w.-]+)@([\w.-]+)/g)) {
        const set = map.get(m[1] ?? '') ?? new Set<string>();
        set.add(m[2] ?? '');
        map.set(m[1] ?? '', set);
      }
    };
    for (const file of readdirSync(join(ROOT, '.github/workflows')))
      record(inWorkflows, readFileSync(join(ROOT, '.github/workflows', file), 'utf8'));
    const inDocs = new Map<string, Set<string>>();
    for (const file of ['README.md', ...Object.keys(GUIDES), 'TROUBLESHOOTING.md', 'CONTRIBUTING.md'])
      record(inDocs, readFileSync(join(ROOT, file), 'utf8'));
    expect(inDocs.get('actions/checkout')?.size).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const [action, versions] of inDocs) {
      const expected = inWorkflows.get(action) ?? versions;
      if (versions.size > 1 || [...versions].some((v) => !expected.has(v)))
        problems.push(
          `${action}: docs use @${[...versions].join(', @')}, workflows @${[...expected].join(', @')}`,
        );
    }
    for (const [action, versions] of inWorkflows)
      if (versions.size > 1) problems.push(`${action}: workflows use @${[...versions].join(', @')}`);
    expect(problems).toEqual([]);
  });

  it('use the Node major of .nvmrc for Node images', () => {
    const nvmrc = readFileSync(join(ROOT, '.nvmrc'), 'utf8').trim();
    const images = [...USER_DOCS.matchAll(/image: node:(\d+)/g)].map((m) => m[1]);
    for (const major of images) expect(major).toBe(nvmrc);
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(
      new RegExp(`^ARG BASE=node:${nvmrc}-`, 'm'),
    );
  });
});
