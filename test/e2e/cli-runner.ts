import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './github-runner.ts';
import { type NodeRun, runNodeScript } from './node-process.ts';

/** The built command-line tool, as `npx databricks-oidc-login` runs it. */
export const CLI = join(ROOT, 'packages', 'cli', 'dist', 'databricks-oidc-login.cjs');

/** Matches any JWT: none may appear where the command does not promise one. */
export const JWT_SHAPE = /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/;

/** A clean environment like a CI job's: PATH, a throwaway HOME, and what the test adds. */
export function jobEnv(extra: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir(), ...extra };
}

/** Runs `databricks-oidc-login ARGS` to completion with exactly `env`. */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 45_000): Promise<NodeRun> {
  return runNodeScript(CLI, env, { timeoutMs, args, cwd: ROOT });
}

/** A CLI process left running (serve, exec), with its output collected as it comes. */
export interface RunningCli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts the CLI without waiting; the test must stop it (stopCli) in a finally or afterEach.
 * `noTerminal` starts it in a session of its own, without a controlling terminal, as in a CI
 * job, even when the tests themselves run in a terminal.
 */
export function startCli(
  args: string[],
  env: Record<string, string>,
  options: { noTerminal?: boolean } = {},
): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], {
    env,
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.noTerminal === true,
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Kills a CLI process that is still running (after a failed assertion) and waits for it. */
export async function stopCli(cli: RunningCli | undefined): Promise<void> {
  if (!cli || cli.child.exitCode !== null || cli.child.signalCode !== null) return;
  cli.child.kill('SIGKILL');
  await cli.exited;
}

/** Waits until `check` is true, polling; fails with `what` after `timeoutMs`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A temporary folder, removed by the returned function. */
export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
