import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { constants } from 'node:os';
import { type SpawnTarget, spawnTarget, UnsafeCommandLineError } from './windows-command.ts';

/** What the child's end means for our exit code: its code, 128+N for signal N, 127 if it never ran. */
export interface ChildOutcome {
  exitCode: number;
  /** For stderr when the command could not start. */
  startError?: string | undefined;
}

/**
 * exec listens for these while the command runs, so that a signal never ends exec (and the
 * token service) before the command: the command may need fresh tokens while it cleans up.
 */
function handledSignals(platform: NodeJS.Platform): NodeJS.Signals[] {
  return platform === 'win32' ? ['SIGINT', 'SIGBREAK', 'SIGHUP'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
}

/**
 * Which of those exec passes on. The command shares exec's process group, so what a terminal
 * sends (Ctrl-C's SIGINT, a hangup's SIGHUP) reaches it already: sending it again would make
 * two, and Terraform takes a second SIGINT as "stop now, skip the graceful shutdown". Without a
 * controlling terminal (CI, a pod) only a kill() aimed at exec can send them: pass it on.
 * SIGTERM never comes from a terminal, so it is always passed on.
 * On Windows Ctrl-C and Ctrl-Break reach every process of the console, Node never raises
 * SIGTERM, and kill() would be TerminateProcess (no cleanup) or throw (SIGHUP): nothing is.
 */
export function forwardedSignals(platform: NodeJS.Platform, hasTerminal: boolean): NodeJS.Signals[] {
  if (platform === 'win32') return [];
  return hasTerminal ? ['SIGTERM'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
}

/** True when this process has a controlling terminal, whose keys signal our process group. */
function hasControllingTerminal(platform: NodeJS.Platform): boolean {
  if (platform === 'win32') return false;
  try {
    closeSync(openSync('/dev/tty', 'r'));
    return true;
  } catch {
    return false; // ENXIO: no controlling terminal
  }
}

function startError(error: unknown): ChildOutcome {
  const e = error as NodeJS.ErrnoException;
  return { exitCode: 127, startError: e.code ? `${e.code}: ${e.message}` : e.message };
}

/**
 * Runs the command with our stdio and the given environment, passes signals on as
 * forwardedSignals says, and resolves when it has ended. No shell: the arguments reach it as
 * given (on Windows a .cmd or .bat goes through cmd.exe, quoted so that this still holds).
 */
export function runCommand(commandLine: string[], env: NodeJS.ProcessEnv): Promise<ChildOutcome> {
  const platform = process.platform;
  let target: SpawnTarget;
  try {
    target = spawnTarget(commandLine, { platform, env, cwd: process.cwd() });
  } catch (error) {
    if (error instanceof UnsafeCommandLineError) return Promise.resolve(startError(error));
    throw error;
  }
  return new Promise<ChildOutcome>((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(target.file, target.args, {
        env,
        stdio: 'inherit',
        windowsVerbatimArguments: target.windowsVerbatimArguments === true,
      });
    } catch (error) {
      // Some refusals are synchronous, e.g. EINVAL for a batch file Node will not start itself.
      resolve(startError(error));
      return;
    }
    const handled = handledSignals(platform);
    const forwarded = new Set(forwardedSignals(platform, hasControllingTerminal(platform)));
    const onSignal = (signal: NodeJS.Signals) => {
      if (!forwarded.has(signal)) return; // it reached the command by itself
      try {
        child.kill(signal);
      } catch {
        // Never throw in a signal handler; the command may be gone already.
      }
    };
    for (const signal of handled) process.on(signal, onSignal);
    const done = (outcome: ChildOutcome) => {
      for (const signal of handled) process.off(signal, onSignal);
      resolve(outcome);
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      // Spawn failures (ENOENT, EACCES) come here and no 'exit' follows.
      if (child.pid === undefined) done(startError(error));
    });
    child.once('exit', (code, signal) => {
      if (signal) done({ exitCode: 128 + (constants.signals[signal] ?? 0) });
      else done({ exitCode: code ?? 1 });
    });
  });
}
