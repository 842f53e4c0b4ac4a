import { spawn } from 'node:child_process';

export interface NodeRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** How long stdout and stderr stayed open after the process exited (a child holding them). */
  closeLagMs: number;
}

export interface RunOptions {
  cwd?: string;
  timeoutMs?: number;
  args?: string[];
  /**
   * Stop waiting for stdout and stderr this long after the exit, as the GitHub and Azure DevOps
   * runners do (5 s; on Windows they then kill the process tree). Default: wait for them.
   */
  closeGraceMs?: number;
}

/**
 * Runs `node <script>` with exactly `env`, as a runner or agent starts a step, and collects its
 * output. The process is killed if it outlives `timeoutMs`, so a hung step cannot hang the suite.
 */
export async function runNodeScript(
  script: string,
  env: Record<string, string>,
  options: RunOptions = {},
): Promise<NodeRun> {
  return runProcess(process.execPath, [script, ...(options.args ?? [])], env, options);
}

/** Runs any program the same way (a later step's shell, for example). */
export async function runProcess(
  command: string,
  args: string[],
  env: Record<string, string>,
  options: Omit<RunOptions, 'args'> = {},
): Promise<NodeRun> {
  const child = spawn(command, args, {
    env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  let exitedAt = 0;
  let grace: NodeJS.Timeout | undefined;
  child.once('exit', () => {
    exitedAt = Date.now();
    if (options.closeGraceMs !== undefined) {
      grace = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, options.closeGraceMs);
    }
  });
  try {
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    return { code, stdout, stderr, closeLagMs: Date.now() - exitedAt };
  } finally {
    clearTimeout(killer);
    clearTimeout(grace);
  }
}
