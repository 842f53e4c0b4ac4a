import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TASK_DIR } from '../e2e/azure-devops-agent.ts';
import { ROOT } from '../e2e/github-runner.ts';
import {
  anchors,
  codeBlocks,
  codeSpans,
  GUIDES,
  guide,
  README,
  section,
  type TableRow,
  tableUnder,
} from './readme.ts';

// The README's tables are what users read; action.yml and task.json are what runs. Like the
// TROUBLESHOOTING test for error codes, these keep the two in step: every row names a real
// input, output or variable with its real default, and every real one has a row.

interface ActionManifest {
  inputs: Record<string, { default?: unknown }>;
  outputs: Record<string, unknown>;
}
interface TaskManifest {
  inputs: Array<{ name: string; defaultValue?: string; aliases?: string[] }>;
  outputVariables: Array<{ name: string }>;
  restrictions?: { settableVariables?: { allowed?: string[] } };
}

const action = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as ActionManifest;
const task = JSON.parse(readFileSync(join(TASK_DIR, 'task.json'), 'utf8')) as TaskManifest;

/** How messages name a table: file and heading. */
const label = (heading: string, file = 'README.md') => `${file} "${heading}"`;

/** Rows by the name in their first cell (its first code span). */
function rowsByName(heading: string, text: string = README): Map<string, TableRow> {
  const rows = new Map<string, TableRow>();
  for (const row of tableUnder(heading, text)) {
    const [name] = codeSpans(row.cells[0] ?? '');
    if (name) rows.set(name, row);
  }
  return rows;
}

/**
 * What is wrong with a README default cell, given the manifest's default: a manifest default must
 * appear as exactly `value`; with none, the README may describe a fallback (`$VAR`, "the X
 * variable", "see ...") but must not claim a literal default.
 */
function defaultProblem(
  where: string,
  name: string,
  cell: string,
  manifestDefault: string | undefined,
): string | undefined {
  if (manifestDefault !== undefined && manifestDefault !== '') {
    return cell === `\`${manifestDefault}\``
      ? undefined
      : `${where} row \`${name}\`: default column is "${cell}", but the manifest's default is \`${manifestDefault}\``;
  }
  const spans = codeSpans(cell);
  const claimsLiteral = spans.length === 1 && cell === `\`${spans[0]}\`` && !spans[0]?.startsWith('$');
  return claimsLiteral
    ? `${where} row \`${name}\`: default column says ${cell}, but the manifest has no default`
    : undefined;
}

/** Rows missing from or extra in a table, as messages that say which row and what to do. */
function membershipProblems(
  where: string,
  source: string,
  documented: Set<string>,
  real: Set<string>,
): string[] {
  return [
    ...[...real]
      .filter((n) => !documented.has(n))
      .map((n) => `${where} has no row for \`${n}\` (declared in ${source}): add one`),
    ...[...documented]
      .filter((n) => !real.has(n))
      .map((n) => `${where} has a row for \`${n}\`, which ${source} does not declare: remove or rename it`),
  ];
}

describe('README tables against action.yml', () => {
  it('lists every input of action.yml with its default, and no other', () => {
    const where = '### GitHub Action inputs';
    const rows = rowsByName(where);
    const problems = membershipProblems(
      label(where),
      'action.yml',
      new Set(rows.keys()),
      new Set(Object.keys(action.inputs)),
    );
    for (const [name, row] of rows) {
      const spec = action.inputs[name];
      if (!spec) continue;
      const declared = spec.default === undefined ? undefined : String(spec.default);
      const problem = defaultProblem(label(where), name, row.cells[1] ?? '', declared);
      if (problem) problems.push(problem);
    }
    expect(rows.size).toBeGreaterThan(5);
    expect(problems).toEqual([]);
  });

  it('lists every output of action.yml, and no other', () => {
    const where = '### GitHub Action outputs';
    const rows = rowsByName(where);
    expect(rows.size).toBeGreaterThan(2);
    expect(
      membershipProblems(
        label(where),
        'action.yml',
        new Set(rows.keys()),
        new Set(Object.keys(action.outputs)),
      ),
    ).toEqual([]);
  });

  it('lists every variable the action exports, and no other', () => {
    const where = '### Variables exported on GitHub';
    const dir = join(ROOT, 'packages/github-action/src');
    const exported = new Set<string>();
    for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.ts'),
    )) {
      for (const m of readFileSync(join(dir, file), 'utf8').matchAll(/exportVariable\(\s*'([A-Z_]+)'/g))
        exported.add(m[1] ?? '');
    }
    expect(exported.size).toBeGreaterThan(3);
    expect(
      membershipProblems(
        label(where),
        'the action sources (core.exportVariable)',
        new Set(rowsByName(where).keys()),
        exported,
      ),
    ).toEqual([]);
  });
});

describe('README tables against task.json', () => {
  it.each([
    ['README.md', '### Azure DevOps task inputs', README],
    [
      'azure-devops-extension/overview.md',
      '## Inputs',
      readFileSync(join(ROOT, 'azure-devops-extension/overview.md'), 'utf8'),
    ],
  ])('%s lists every input of task.json with its default and aliases, and no other', (file, heading, text) => {
    const where = heading;
    const label = (h: string) => `${file} "${h}"`;
    const rows = rowsByName(where, text);
    const problems = membershipProblems(
      label(where),
      'task.json',
      new Set(rows.keys()),
      new Set(task.inputs.map((i) => i.name)),
    );
    for (const input of task.inputs) {
      const row = rows.get(input.name);
      if (!row) continue;
      const problem = defaultProblem(label(where), input.name, row.cells[1] ?? '', input.defaultValue);
      if (problem) problems.push(problem);
      const documentedAliases = codeSpans(row.cells[0] ?? '').slice(1);
      if (documentedAliases.join() !== (input.aliases ?? []).join())
        problems.push(
          `${label(where)} row \`${input.name}\`: aliases are [${documentedAliases.join(', ')}], task.json says [${(input.aliases ?? []).join(', ')}]`,
        );
    }
    expect(rows.size).toBeGreaterThan(5);
    expect(problems).toEqual([]);
  });

  it('lists every output variable of task.json, and no other', () => {
    const where = '### Azure DevOps output variables';
    const rows = rowsByName(where);
    expect(
      membershipProblems(
        label(where),
        'task.json',
        new Set(rows.keys()),
        new Set(task.outputVariables.map((o) => o.name)),
      ),
    ).toEqual([]);
  });

  it('lists every variable the task may set (its settableVariables, outputs aside), and no other', () => {
    const where = '### Variables set on Azure DevOps';
    const outputs = new Set(task.outputVariables.map((o) => o.name));
    const settable = (task.restrictions?.settableVariables?.allowed ?? []).filter((n) => !outputs.has(n));
    expect(settable.length).toBeGreaterThan(3);
    expect(
      membershipProblems(
        label(where),
        'task.json restrictions.settableVariables',
        new Set(rowsByName(where).keys()),
        new Set(settable),
      ),
    ).toEqual([]);
  });

  it('shows output variables with a step name, in the same job and in another job', () => {
    const [example] = codeBlocks(section('### Azure DevOps output variables'), 'yaml');
    const pipeline = parse(example ?? '') as {
      jobs: Array<{ job: string; steps: Array<Record<string, unknown>>; variables?: Record<string, string> }>;
    };
    const login = pipeline.jobs.find((j) =>
      j.steps.some((s) => String(s.task).startsWith('DatabricksOidcLogin@')),
    );
    const step = login?.steps.find((s) => String(s.task).startsWith('DatabricksOidcLogin@'));
    const stepName = String(step?.name);
    expect(stepName).toMatch(/^\w+$/);
    const outputs = new Set(task.outputVariables.map((o) => o.name));
    const sameJob = [...(example ?? '').matchAll(new RegExp(`\\$\\(${stepName}\\.(\\w+)\\)`, 'g'))].map(
      (m) => m[1],
    );
    const otherJob = [
      ...(example ?? '').matchAll(
        new RegExp(`dependencies\\.(\\w+)\\.outputs\\['${stepName}\\.(\\w+)'\\]`, 'g'),
      ),
    ];
    expect(sameJob.length).toBeGreaterThan(0);
    expect(otherJob.length).toBeGreaterThan(0);
    for (const name of sameJob) expect(outputs).toContain(name);
    for (const m of otherJob) {
      expect(m[1]).toBe(login?.job);
      expect(outputs).toContain(m[2]);
    }
  });
});

describe('every example in the docs', () => {
  const documents = {
    'README.md': README,
    ...GUIDES,
    'azure-devops-extension/overview.md': readFileSync(
      join(ROOT, 'azure-devops-extension/overview.md'),
      'utf8',
    ),
  };
  const actionInputs = new Set(Object.keys(action.inputs));
  const taskInputs = new Set(task.inputs.flatMap((i) => [i.name, ...(i.aliases ?? [])]));

  /** Every mapping in a parsed YAML document, depth first. */
  function* mappings(node: unknown): Generator<Record<string, unknown>> {
    if (Array.isArray(node)) for (const item of node) yield* mappings(item);
    else if (node && typeof node === 'object') {
      yield node as Record<string, unknown>;
      for (const value of Object.values(node)) yield* mappings(value);
    }
  }

  it('is valid YAML that uses only inputs the action and the task declare', () => {
    const problems: string[] = [];
    let steps = 0;
    for (const [file, text] of Object.entries(documents)) {
      for (const block of codeBlocks(text, 'yaml')) {
        let doc: unknown;
        try {
          doc = parse(block);
        } catch (error) {
          problems.push(`${file}: a yaml example does not parse: ${String(error).split('\n')[0]}`);
          continue;
        }
        for (const map of mappings(doc)) {
          if (typeof map.uses === 'string' && map.uses.split('@')[0]?.endsWith('/databricks-oidc-login')) {
            steps++;
            for (const key of Object.keys((map.with as object | undefined) ?? {}))
              if (!actionInputs.has(key))
                problems.push(`${file}: example step sets \`${key}\`, not an input of action.yml`);
          }
          if (typeof map.task === 'string' && map.task.startsWith('DatabricksOidcLogin@')) {
            steps++;
            for (const key of Object.keys((map.inputs as object | undefined) ?? {}))
              if (!taskInputs.has(key))
                problems.push(`${file}: example task sets \`${key}\`, not an input of task.json`);
          }
        }
      }
    }
    expect(steps).toBeGreaterThan(5);
    expect(problems).toEqual([]);
  });
});

describe('README for users', () => {
  it('puts usage before contributor commands, and the two commands that must work right after the intro', () => {
    const headings = [...README.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(headings[0]).toBe('Try it locally');
    const tryIt = section('## Try it locally');
    expect(tryIt).toContain('npm ci && npm run demo');
    expect(tryIt).toContain('npm ci && npm test');
    for (const later of ['Contributing', 'License'])
      expect(headings.indexOf(later)).toBeGreaterThan(headings.indexOf('Azure DevOps quick start'));
  });

  it('keeps the front-page sections', () => {
    for (const heading of [
      "When you don't need this",
      'Prerequisites',
      'GitHub quick start',
      'Azure DevOps quick start',
      'Inputs, outputs and variables',
      'Modes: token and refresh',
      'Guides',
      'Versioning',
      'Security',
      'Contributing',
    ])
      expect(() => section(`## ${heading}`), heading).not.toThrow();
  });

  it('keeps a guide in docs/ for each feature of the other front ends and modes, each linked from the README', () => {
    const guides: Record<string, string[]> = {
      'setup-walkthrough': ['# Setup walkthrough', '## Microsoft Entra ID instead (provider azure)'],
      'modes-and-metadata-service': ['# Mode refresh', '## Which host spellings match'],
      'unified-hosts-and-profiles': ['# Unified hosts and named profiles'],
      fallbacks: ['# No OIDC here'],
      'google-cloud': ['# Databricks on Google Cloud'],
      'other-cis-and-kubernetes': [
        '# Other CIs and Kubernetes (command-line tool)',
        '## Getting the tool',
        '## Where the ID token comes from',
        '## Kubernetes',
      ],
      library: ['# Library'],
      'security-model': [
        '# Security model',
        '## Proxies, private CAs and what the step trusts',
        '## Debug logs',
      ],
      'azure-devops': ['## Publishing the Azure DevOps extension'],
    };
    const guidesSection = section('## Guides');
    for (const [name, headings] of Object.entries(guides)) {
      for (const heading of headings) expect(() => section(heading, guide(name)), heading).not.toThrow();
      expect(guidesSection, `README "Guides" links to docs/${name}.md`).toContain(`](docs/${name}.md)`);
    }
    // Every file in docs/ is one of them: no guide that the README does not link to.
    expect(Object.keys(GUIDES).sort()).toEqual(
      Object.keys(guides)
        .map((n) => `docs/${n}.md`)
        .sort(),
    );
  });

  it('documents both GitHub subject forms, and building the policy from the real token', () => {
    const walkthrough = section('# Setup walkthrough', guide('setup-walkthrough'));
    expect(walkthrough).toMatch(/repo:my-org\/my-repo:environment:prod/);
    expect(walkthrough).toMatch(/repo:my-org@\d+\/my-repo@\d+:environment:prod/);
    expect(walkthrough).toContain('Build the policy from the real token');
    expect(walkthrough).toContain('az ad app federated-credential create');
  });

  it('tells how to get debug logs on each runner', () => {
    const debug = section('## Debug logs', guide('security-model'));
    expect(debug).toContain('ACTIONS_STEP_DEBUG');
    expect(debug).toContain('Enable debug logging');
    expect(debug).toContain('system.debug');
  });

  it('is what the manifests and the other docs link to, heading by heading', () => {
    const slug = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).repository.url.match(
      /github\.com\/([^/]+\/[^/.]+)/,
    )[1] as string;
    const readmeAnchors = anchors(README);
    readmeAnchors.add('readme');
    const problems: string[] = [];
    for (const file of [
      'package.json',
      'packages/cli/package.json',
      'azure-devops-extension/vss-extension.json',
      'azure-devops-extension/DatabricksOidcLoginV1/task.json',
      'azure-devops-extension/overview.md',
      'TROUBLESHOOTING.md',
      'CONTRIBUTING.md',
      'SECURITY.md',
    ]) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      // The repository's front page (its README), by anchor.
      for (const m of text.matchAll(
        new RegExp(`github\\.com/${slug}(?:/blob/[\\w.]+/README\\.md)?#([\\w-]+)`, 'g'),
      ))
        if (!readmeAnchors.has(m[1] ?? ''))
          problems.push(`${file} links to README #${m[1]}, no such heading`);
      // Any other file of the repository, e.g. a guide in docs/, and its anchor.
      for (const m of text.matchAll(
        new RegExp(`github\\.com/${slug}/blob/[\\w.]+/([\\w./-]+)(?:#([\\w-]+))?`, 'g'),
      )) {
        const [, path = '', anchor] = m;
        if (path === 'README.md') continue;
        if (!existsSync(join(ROOT, path))) problems.push(`${file} links to ${path}, which does not exist`);
        else if (anchor && !anchors(readFileSync(join(ROOT, path), 'utf8')).has(anchor))
          problems.push(`${file} links to ${path}#${anchor}, no such heading`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('links only to files that exist and to headings that exist, in the README, the guides and the other docs', () => {
    const files = [
      'README.md',
      ...Object.keys(GUIDES),
      'TROUBLESHOOTING.md',
      'CONTRIBUTING.md',
      'SECURITY.md',
      'CHANGELOG.md',
      'azure-devops-extension/overview.md',
    ];
    const problems: string[] = [];
    let checked = 0;
    for (const file of files) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      // Links in prose, not in code blocks.
      const prose = text.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');
      for (const m of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1] ?? '';
        if (/^(https?|mailto):/.test(target)) continue;
        checked++;
        const [path, anchor] = target.split('#');
        const resolved = path ? normalize(join(dirname(file), path)) : file;
        if (resolved.startsWith('..') || !existsSync(join(ROOT, resolved))) {
          problems.push(`${file} links to ${target}: ${resolved} does not exist`);
          continue;
        }
        if (
          anchor &&
          resolved.endsWith('.md') &&
          !anchors(readFileSync(join(ROOT, resolved), 'utf8')).has(anchor)
        )
          problems.push(`${file} links to ${target}: ${resolved} has no heading #${anchor}`);
      }
    }
    expect(checked).toBeGreaterThan(50);
    expect(problems).toEqual([]);
  });
});
