import { statSync } from 'node:fs';
import { win32 } from 'node:path';

/** What to hand spawn() so that the command runs the way Windows users run it. */
export interface SpawnTarget {
  file: string;
  args: string[];
  /** Set for cmd.exe: the command line below is already quoted for it. */
  windowsVerbatimArguments?: boolean;
}

/** The machine the command runs on, injectable so that tests cover Windows on any OS. */
export interface CommandHost {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  cwd: string;
  isFile?: (path: string) => boolean;
}

/** Thrown for a command line that cmd.exe cannot pass on intact; exec reports it as "cannot run". */
export class UnsafeCommandLineError extends Error {
  override readonly name = 'UnsafeCommandLineError';
}

const DEFAULT_PATHEXT = '.COM;.EXE;.BAT;.CMD';

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Windows variable names ignore case (`Path`, `PATHEXT`); a copied env object does not. */
export function windowsVariable(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const upper = name.toUpperCase();
  for (const [key, value] of Object.entries(env)) if (key.toUpperCase() === upper) return value;
  return undefined;
}

/**
 * Finds the file Windows would run for `command`: a name without a folder is looked up in each
 * PATH folder, a name without an extension with each PATHEXT extension (so `npm` is `npm.cmd`,
 * not the sh script beside it). Unlike cmd.exe, the current folder is not searched first
 * (as in PowerShell): a checkout must not be able to plant `terraform.cmd`. Undefined if none.
 */
export function resolveWindowsCommand(command: string, host: CommandHost): string | undefined {
  const exists = host.isFile ?? isFile;
  const extensions = (windowsVariable(host.env, 'PATHEXT') || DEFAULT_PATHEXT)
    .split(';')
    .map((e) => e.trim())
    .filter((e) => e.startsWith('.'));
  // A name that has an extension is tried as it is first, then with one added (`a.b` -> `a.b.exe`).
  const suffixes = win32.extname(command) ? ['', ...extensions] : extensions;
  const hasFolder = /[\\/]/.test(command) || /^[A-Za-z]:/.test(command);
  const folders = hasFolder
    ? [host.cwd]
    : (windowsVariable(host.env, 'PATH') ?? '')
        .split(';')
        .map((d) => d.trim().replace(/^"(.*)"$/, '$1'))
        .filter(Boolean);
  for (const folder of folders) {
    for (const suffix of suffixes) {
      const candidate = win32.resolve(folder, command + suffix.toLowerCase());
      if (exists(candidate)) return candidate;
    }
  }
  return undefined;
}

/**
 * Quotes one word of a cmd.exe command line that starts a batch file, so that neither cmd.exe
 * nor the batch file's `%*` (which npm.cmd, npx.cmd, az.cmd and node_modules\.bin shims pass on
 * to node or python) runs any part of it, and the final program reads it back unchanged:
 * - inside double quotes `& | < > ^ ( )` are plain text for cmd.exe; a `"` in the word is written
 *   `""`, which keeps cmd.exe's quote state in step however often the line is parsed, and which
 *   the C runtime's argument parser reads as one `"` inside a quoted word;
 * - backslashes before a `"` or the closing quote are doubled, by the C runtime's rule;
 * - `%` cannot be escaped on a command line: `%%cd:~,%` is a `%` followed by an empty substring
 *   of %CD%, so no variable name ever follows the `%`;
 * - CR, LF and NUL end a cmd.exe line: refused.
 * Words of only safe characters stay bare, so a batch file's `%1` sees what was typed.
 */
export function quoteForCmd(word: string): string {
  if (/[\r\n\0]/.test(word)) {
    throw new UnsafeCommandLineError(
      'an argument holds a line break or NUL, which cmd.exe cannot pass to a .cmd or .bat file',
    );
  }
  if (/^[A-Za-z0-9_\-.:/\\+@]+$/.test(word)) return word;
  const escaped = word
    .replace(/(\\*)"/g, '$1$1""')
    .replace(/(\\+)$/, '$1$1')
    .replace(/%/g, '%%cd:~,%');
  return `"${escaped}"`;
}

/**
 * How to start `commandLine` on `host`. Elsewhere than Windows: as given (no shell). On Windows:
 * resolved through PATH and PATHEXT; a `.cmd` or `.bat` runs through `cmd.exe /d /s /c`, because
 * Node refuses to spawn one directly (CVE-2024-27980) and libuv's own search finds only
 * `.com` and `.exe`. An unknown command is left as it is, for spawn to fail with ENOENT.
 */
export function spawnTarget(commandLine: readonly string[], host: CommandHost): SpawnTarget {
  const [command = '', ...args] = commandLine;
  if (host.platform !== 'win32') return { file: command, args };
  const resolved = resolveWindowsCommand(command, host);
  if (!resolved) return { file: command, args };
  if (!/\.(cmd|bat)$/i.test(resolved)) return { file: resolved, args };
  const line = [quoteForCmd(resolved), ...args.map(quoteForCmd)].join(' ');
  // /d: no AutoRun commands; /e:on: the %cd:~,% substring needs command extensions; /v:off: `!`
  // is text; /s /c "...": cmd.exe drops exactly the outer quotes and runs the rest.
  return {
    file: windowsVariable(host.env, 'COMSPEC') || 'cmd.exe',
    args: ['/d', '/e:on', '/v:off', '/s', '/c', `"${line}"`],
    windowsVerbatimArguments: true,
  };
}
