import { posix, win32 } from 'node:path';

/**
 * The `databricks-oidc-token` to name in messages. On Windows that is the .cmd: PowerShell hands
 * an absolute path without extension to ShellExecute when a .cmd sits beside it, instead of
 * running it (PowerShell/PowerShell#7769).
 */
export function tokenCommandPath(dir: string, platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32'
    ? win32.join(dir, 'databricks-oidc-token.cmd')
    : posix.join(dir, 'databricks-oidc-token');
}
