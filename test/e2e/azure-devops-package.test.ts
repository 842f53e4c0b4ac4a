import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import JSZip from 'jszip';
import { describe, expect, it } from 'vitest';
import { TASK_DIR } from './azure-devops-agent.ts';
import { ROOT } from './github-runner.ts';

interface TaskInput {
  name: string;
  type: string;
  label: string;
  defaultValue?: string;
  options?: Record<string, string>;
  visibleRule?: string;
  groupName?: string;
  helpMarkDown?: string;
}
interface TaskJson {
  id: string;
  name: string;
  version: { Major: number; Minor: number; Patch: number };
  instanceNameFormat: string;
  minimumAgentVersion: string;
  groups: Array<{ name: string }>;
  inputs: TaskInput[];
  outputVariables: Array<{ name: string }>;
  execution: Record<string, { target: string }>;
  postjobexecution: Record<string, { target: string }>;
}

const task = JSON.parse(readFileSync(join(TASK_DIR, 'task.json'), 'utf8')) as TaskJson;
const taskSources = readdirSync(join(ROOT, 'packages/azure-devops-task/src'))
  .map((f) => readFileSync(join(ROOT, 'packages/azure-devops-task/src', f), 'utf8'))
  .join('\n');

// tfx only warns about a broken task.json, so these checks stand in for the agent's own.
describe('task.json', () => {
  it('has the identity fields the agent and the Marketplace rely on', () => {
    expect(task.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(task.name).toBe('DatabricksOidcLogin');
    expect(task.name).toMatch(/^[A-Za-z0-9-]+$/);
    expect(task.version.Major).toBe(1);
    for (const part of Object.values(task.version)) expect(Number.isInteger(part)).toBe(true);
    expect(task.instanceNameFormat.length).toBeGreaterThan(0);
  });

  it('runs on Node20_1 and Node24, main and post-job, with targets that exist after the build', () => {
    expect(Object.keys(task.execution).sort()).toEqual(['Node20_1', 'Node24']);
    expect(Object.keys(task.postjobexecution).sort()).toEqual(['Node20_1', 'Node24']);
    for (const handler of [...Object.values(task.execution), ...Object.values(task.postjobexecution)]) {
      expect(existsSync(join(TASK_DIR, handler.target))).toBe(true);
    }
  });

  it('declares exactly the inputs the task reads, with valid types, defaults, groups and rules', () => {
    const names = task.inputs.map((i) => i.name);
    expect(new Set(names).size).toBe(names.length);
    // Every input is read through input('name'); task-lib's getInput appears only inside it.
    expect(taskSources.match(/tl\.getInput\(/g)).toHaveLength(1);
    // Secret inputs go through secretInput('name'), which reads them without a debug echo.
    const read = [...taskSources.matchAll(/\b(?:input|secretInput)\('([A-Za-z]+)'\)/g)].map((m) => m[1]);
    expect(new Set(read)).toEqual(new Set(names));
    const groups = new Set(task.groups.map((g) => g.name));
    const types = new Set(['string', 'boolean', 'pickList', 'connectedService:AzureRM']);
    for (const input of task.inputs) {
      expect(input.name).toMatch(/^[A-Za-z][A-Za-z0-9]*$/);
      expect(types.has(input.type), `${input.name}: ${input.type}`).toBe(true);
      expect(input.label.length).toBeGreaterThan(0);
      expect(input.helpMarkDown?.length).toBeGreaterThan(0);
      if (input.groupName) expect(groups.has(input.groupName)).toBe(true);
      if (input.type === 'pickList') expect(Object.keys(input.options ?? {})).toContain(input.defaultValue);
      for (const referenced of input.visibleRule?.match(/[A-Za-z]+(?= =)/g) ?? [])
        expect(names).toContain(referenced);
    }
  });

  it('passes the task validation of tfx itself (which only warns while packaging)', () => {
    const require = createRequire(import.meta.url);
    const { validateTask } = require('tfx-cli/_build/lib/jsonvalidate.js') as {
      validateTask(path: string, data: unknown): string[];
    };
    expect(validateTask(join(TASK_DIR, 'task.json'), task)).toEqual([]);
  });

  it('names the host in each step title and needs the first agent with the Node20_1 handler', () => {
    // $(host) is the input's value, as the agent expands instanceNameFormat.
    expect(task.instanceNameFormat).toContain('$(host)');
    // Node20_1 shipped in agent 3.232.0 (microsoft/azure-pipelines-agent#4518); Node24 (#5361, 4.265.0)
    // is preferred where present, and older agents fall back to Node20_1.
    expect(task.minimumAgentVersion).toBe('3.232.0');
  });

  it('declares the output variables the task sets', () => {
    const set = [...taskSources.matchAll(/setVariable\('([A-Za-z]+)', [^;]*?, (?:false|true), true\)/g)].map(
      (m) => m[1],
    );
    expect(set.sort()).toEqual(task.outputVariables.map((o) => o.name).sort());
  });
});

describe('npm run package', () => {
  it('builds a .vsix that contains the valid task and its bundles', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vsix-'));
    try {
      const vsix = join(dir, 'extension.vsix');
      execFileSync(process.execPath, [join(ROOT, 'scripts/package.mjs'), vsix], { cwd: ROOT, stdio: 'pipe' });
      const zip = await JSZip.loadAsync(readFileSync(vsix));
      const files = Object.keys(zip.files);
      expect(files).toEqual(
        expect.arrayContaining([
          'extension.vsixmanifest',
          'DatabricksOidcLoginV1/task.json',
          'images/icon.png',
        ]),
      );
      for (const file of [
        'main.js',
        'post.js',
        'metadata-service.js',
        'icon.png',
        'bin/databricks-oidc-token',
        'bin/databricks-oidc-token.cmd',
        'bin/databricks-oidc-token.cjs',
      ]) {
        const packed = await zip.file(`DatabricksOidcLoginV1/${file}`)?.async('nodebuffer');
        expect(packed?.equals(readFileSync(join(TASK_DIR, file))), file).toBe(true);
      }
      const packedTask = JSON.parse(
        (await zip.file('DatabricksOidcLoginV1/task.json')?.async('string')) ?? '{}',
      ) as TaskJson;
      expect(packedTask.id).toBe(task.id);
      const manifest = (await zip.file('extension.vsixmanifest')?.async('string')) ?? '';
      expect(manifest).toContain('Id="databricks-oidc-login"');
      // Marketplace conventions: a license, links to the docs and repository, Preview until proven.
      expect(files).toContain('LICENSE');
      expect(await zip.file('LICENSE')?.async('string')).toBe(readFileSync(join(ROOT, 'LICENSE'), 'utf8'));
      expect(manifest).toContain('<License>LICENSE</License>');
      expect(manifest).toContain('<GalleryFlags>Preview</GalleryFlags>');
      for (const link of ['Home', 'Getstarted', 'Learn', 'Support', 'License', 'GitHub'])
        expect(manifest).toContain(`Microsoft.VisualStudio.Services.Links.${link}`);
      expect(JSON.stringify(packedTask)).toContain('"settableVariables"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('bundle boundaries', () => {
  it('keeps azure-pipelines-task-lib out of the GitHub Action bundles (it deletes INPUT_* on import)', () => {
    const marker = 'LIB_EndpointNotExist';
    expect(readFileSync(join(TASK_DIR, 'main.js'), 'utf8')).toContain(marker);
    for (const file of readdirSync(join(ROOT, 'dist'), { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.cjs'),
    ))
      expect(readFileSync(join(ROOT, 'dist', file), 'utf8')).not.toContain(marker);
    expect(readFileSync(join(TASK_DIR, 'metadata-service.js'), 'utf8')).not.toContain(marker);
  });

  it('keeps CI libraries out of the core', () => {
    const dir = join(ROOT, 'packages/core/src');
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(20);
    const core = files.map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
    expect(core).not.toMatch(/from '@actions\/core'|azure-pipelines-task-lib/);
  });
});
