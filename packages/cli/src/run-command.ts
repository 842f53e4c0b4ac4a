import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/** What the child's end means for our exit code: its code, 128+N for signal N, 127 if it never ran. */
export interface ChildOutcome {
  exitCode: number;
  /** For stderr when the command could not start. */
  startError?: string | undefined;
}

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Runs the command with our stdio and the given environment, passes SIGINT, SIGTERM and SIGHUP
 * on to it, and resolves when it has ended. No shell: the arguments reach it as given.
 */
export function runCommand(commandLine: string[], env: NodeJS.ProcessEnv): Promise<ChildOutcome> {
  const [file, ...args] = commandLine;
  return new Promise<ChildOutcome>((resolve) => {
    const child = spawn(file ?? '', args, { env, stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals) => {
      child.kill(signal);
    };
    for (const signal of FORWARDED) process.on(signal, forward);
    const done = (outcome: ChildOutcome) => {
      for (const signal of FORWARDED) process.off(signal, forward);
      resolve(outcome);
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      // Spawn failures (ENOENT, EACCES) come here and no 'exit' follows.
      if (child.pid === undefined)
        done({ exitCode: 127, startError: `${error.code ?? 'error'}: ${error.message}` });
    });
    child.once('exit', (code, signal) => {
      if (signal) done({ exitCode: 128 + (constants.signals[signal] ?? 0) });
      else done({ exitCode: code ?? 1 });
    });
  });
}
