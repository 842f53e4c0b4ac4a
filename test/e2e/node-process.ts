import { spawn } from 'node:child_process';

export interface NodeRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node <script>` with exactly `env`, as a runner or agent starts a step, and collects its
 * output. The process is killed if it outlives `timeoutMs`, so a hung step cannot hang the suite.
 */
export async function runNodeScript(
  script: string,
  env: Record<string, string>,
  options: { cwd?: string; timeoutMs?: number; args?: string[] } = {},
): Promise<NodeRun> {
  const child = spawn(process.execPath, [script, ...(options.args ?? [])], {
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
  try {
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    return { code, stdout, stderr };
  } finally {
    clearTimeout(killer);
  }
}
