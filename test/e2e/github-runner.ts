import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { runNodeScript, runProcess } from './node-process.ts';
import { trackStartedService } from './started-services.ts';

/** The repository root: the folder holding action.yml, found upward (this file is also bundled into build/). */
export const ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'action.yml'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('action.yml not found above this file');
    dir = parent;
  }
  return dir;
})();

/** What a step left behind, as the runner would see it. */
export interface StepRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Variables written to GITHUB_ENV. */
  exportedEnv: Record<string, string>;
  outputs: Record<string, string>;
  state: Record<string, string>;
  summary: string;
  /** Folders added to PATH for later steps (GITHUB_PATH), in order. */
  addedPaths: string[];
  /** `::add-mask::` values, in order. */
  masks: string[];
  /** `::error::` messages, unescaped. */
  errors: string[];
  /** stdout lines with the add-mask commands removed: what a log reader could see. */
  visibleOutput: string;
  durationMs: number;
  /** How long the step's stdout and stderr stayed open after it exited. */
  closeLagMs: number;
}

/** Parses the `name<<delimiter` heredoc format of GITHUB_ENV/GITHUB_OUTPUT/GITHUB_STATE. */
export function parseFileCommands(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name = '', delimiter] = heredoc;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i] ?? '');
      result[name] = value.join('\n');
    } else if (line.includes('=')) {
      const at = line.indexOf('=');
      result[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  return result;
}

function unescapeCommand(text: string): string {
  return text.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

/** INPUT_* for every input with a default in action.yml, as the runner sets them. */
export function actionDefaults(): Record<string, string> {
  const manifest = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as {
    inputs: Record<string, { default?: string }>;
  };
  const env: Record<string, string> = {};
  for (const [name, spec] of Object.entries(manifest.inputs)) {
    if (spec.default !== undefined) env[`INPUT_${name.toUpperCase()}`] = String(spec.default);
  }
  return env;
}

export interface StepOptions {
  /** Inputs by their action.yml names, e.g. { 'client-id': '...' }. */
  inputs?: Record<string, string>;
  env?: Record<string, string>;
  /** STATE_* handed to a post step. */
  state?: Record<string, string>;
  timeoutMs?: number;
  /** See RunOptions.closeGraceMs: stop waiting for the step's output this long after its exit. */
  closeGraceMs?: number;
  /** A RUNNER_TEMP shared by the steps of one job (the caller removes it); default: one per step. */
  runnerTemp?: string;
}

/** Runs dist/<entry>.cjs with `node`, in a runner-like environment, and collects the results. */
export async function runActionStep(entry: 'main' | 'post', options: StepOptions = {}): Promise<StepRun> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-step-'));
  const files = {
    GITHUB_ENV: join(dir, 'env'),
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_PATH: join(dir, 'path'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
  };
  for (const file of Object.values(files)) writeFileSync(file, '');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    RUNNER_TEMP: options.runnerTemp ?? dir,
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    ...files,
    ...actionDefaults(),
    ...Object.fromEntries(
      Object.entries(options.inputs ?? {}).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]),
    ),
    ...Object.fromEntries(Object.entries(options.state ?? {}).map(([k, v]) => [`STATE_${k}`, v])),
    ...options.env,
  };
  const started = Date.now();
  try {
    const { code, stdout, stderr, closeLagMs } = await runNodeScript(
      join(ROOT, 'dist', `${entry}.cjs`),
      env,
      {
        timeoutMs: options.timeoutMs ?? 30_000,
        ...(options.closeGraceMs === undefined ? {} : { closeGraceMs: options.closeGraceMs }),
      },
    );
    const lines = stdout.split(/\r?\n/);
    const state = parseFileCommands(readFileSync(files.GITHUB_STATE, 'utf8'));
    trackStartedService(state['metadata-service-pid'], state['metadata-service-url']);
    return {
      code,
      stdout,
      stderr,
      exportedEnv: parseFileCommands(readFileSync(files.GITHUB_ENV, 'utf8')),
      outputs: parseFileCommands(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
      state,
      summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
      addedPaths: readFileSync(files.GITHUB_PATH, 'utf8').split(/\r?\n/).filter(Boolean),
      masks: lines
        .filter((l) => l.startsWith('::add-mask::'))
        .map((l) => unescapeCommand(l.slice('::add-mask::'.length))),
      errors: lines
        .filter((l) => l.startsWith('::error::'))
        .map((l) => unescapeCommand(l.slice('::error::'.length))),
      visibleOutput: lines.filter((l) => !l.startsWith('::add-mask::')).join('\n'),
      durationMs: Date.now() - started,
      closeLagMs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs the real Databricks JS SDK in its own process, configured only by `env`, and returns
 * what `currentUser.me()` said. HOME is an empty folder, so no ~/.databrickscfg interferes.
 */
export async function runSdkMe(
  env: Record<string, string>,
): Promise<{ code: number | null; userName?: string; error?: string }> {
  const home = mkdtempSync(join(tmpdir(), 'sdk-home-'));
  try {
    const {
      code,
      stdout: out,
      stderr: err,
    } = await runNodeScript(
      join(ROOT, 'test', 'e2e', 'sdk-me.mjs'),
      { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...env },
      { cwd: ROOT },
    );
    if (code !== 0) return { code, error: `${out}\n${err}`.slice(0, 2000) };
    return { code, ...(JSON.parse(out) as { userName: string }) };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/**
 * Runs a shell command as a later `run:` step of the same job would: the exported variables,
 * and PATH with the folders earlier steps added (the latest first) before the runner's own.
 */
export async function runLaterShellStep(
  run: Pick<StepRun, 'exportedEnv' | 'addedPaths'>,
  script: string,
  shell = 'sh',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const home = mkdtempSync(join(tmpdir(), 'later-step-'));
  try {
    const path = [...run.addedPaths]
      .reverse()
      .concat(process.env.PATH ?? '/usr/bin:/bin')
      .join(':');
    return await runProcess(shell, ['-c', script], { ...run.exportedEnv, HOME: home, PATH: path });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
