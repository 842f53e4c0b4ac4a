import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { codeBlocks, section } from '../release/readme.ts';
import { JWT_SHAPE, tempDir, waitFor } from './cli-runner.ts';
import { ROOT } from './github-runner.ts';
import { runProcess } from './node-process.ts';

// Follows README "The command-line tool, by hand" literally: `npm run emulators` in one shell,
// its printed exports and the README's commands in a second, curl against `serve` in a third.
// Only `npm ci` is skipped (the suite runs in an installed clone). Every shell is a process group
// of its own, stopped as Ctrl-C would stop it, and killed after the test whatever happened.

interface Shell {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  closed: Promise<number | null>;
}

const shells: Shell[] = [];
let home: ReturnType<typeof tempDir> | undefined;

afterEach(async () => {
  for (const shell of shells.splice(0)) {
    if (shell.child.exitCode === null && shell.child.signalCode === null) {
      try {
        process.kill(-(shell.child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await shell.closed;
  }
  home?.remove();
  home = undefined;
});

/** A shell running `script` in a process group of its own, as a terminal's foreground job. */
function startShell(script: string, env: Record<string, string>): Shell {
  const child = spawn('sh', ['-c', script], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const shell = { child, stdout: () => out, stderr: () => err, closed };
  shells.push(shell);
  return shell;
}

/** Ctrl-C: SIGINT to the whole foreground process group. */
function interrupt(shell: Shell): void {
  process.kill(-(shell.child.pid as number), 'SIGINT');
}

describe('README: the command-line tool, by hand', () => {
  it('npm run emulators, then explain, token, env, exec and serve as the README shows them', async () => {
    const [first, second, third] = codeBlocks(section('### The command-line tool, by hand'), 'sh');
    const commands = (block = '') =>
      block
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
    expect(commands(first)[0]).toBe('npm ci');
    const emulatorsLine = commands(first)[1] ?? '';
    expect(emulatorsLine).toMatch(/^npm run emulators\b/);
    home = tempDir('readme-by-hand-');
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home.path, NO_COLOR: '1' };

    // Shell 1.
    const emulators = startShell(emulatorsLine, env);
    await waitFor(
      () => /^# Ctrl-C here stops the emulators\.$/m.test(emulators.stdout()),
      `the emulators' exports (stderr: ${emulators.stderr()})`,
      60_000,
    );
    const exports = emulators
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('export '));
    // The README names exactly the variables it prints.
    expect(exports.map((l) => /^export (\w+)=/.exec(l)?.[1])).toEqual([
      'GITLAB_CI',
      'DATABRICKS_OIDC_TOKEN',
      'DATABRICKS_HOST',
      'DATABRICKS_CLIENT_ID',
    ]);
    expect(section('### The command-line tool, by hand')).toContain(
      'paste the four `export` lines it printed (`GITLAB_CI`,\n`DATABRICKS_OIDC_TOKEN`, `DATABRICKS_HOST`, `DATABRICKS_CLIENT_ID`)',
    );
    const host = /^export DATABRICKS_HOST='(.+)'$/m.exec(exports.join('\n'))?.[1] ?? '';
    expect(host).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    // Shell 2: the pasted exports, then every README command up to serve, in one session.
    const lines = commands(second);
    const serveLine = lines.at(-1) ?? '';
    expect(serveLine).toMatch(/^npx databricks-oidc-login serve\b/);
    const session = await runProcess(
      'sh',
      ['-e', '-c', [...exports, ...lines.slice(0, -1)].join('\n')],
      env,
      {
        cwd: ROOT,
        timeoutMs: 90_000,
      },
    );
    expect(session.code, session.stderr).toBe(0);
    const out = session.stdout;
    // explain: the claims and the policy; token: one JWT line; env: pat; exec: the metadata service.
    expect(out).toContain('issuer   (iss): https://gitlab.com');
    expect(out).toContain('databricks account service-principal-federation-policy create');
    expect(out.split('\n').filter((l) => /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/.test(l))).toHaveLength(1);
    expect(out).toMatch(/^pat$/m);
    expect(out).toMatch(/^metadata-service http:\/\/127\.0\.0\.1:\d+\/[\w-]+/m);
    expect(session.stderr).toContain('Verified: the workspace knows this token');

    // Shell 2 again: serve in the foreground; shell 3: the README's curl with the printed URL.
    const serve = startShell([...exports, serveLine].join('\n'), env);
    await waitFor(
      () => /^http:\/\/127\.0\.0\.1:\d+\/\S+$/m.test(serve.stdout()),
      `serve's URL (${serve.stderr()})`,
      60_000,
    );
    const url = /^(http:\/\/127\.0\.0\.1:\d+\/\S+)$/m.exec(serve.stdout())?.[1] ?? '';
    const [curlLine] = commands(third);
    expect(curlLine).toMatch(/^curl /);
    const curl = await runProcess(
      'sh',
      ['-e', '-c', [...exports, `URL='${url}'`, curlLine].join('\n')],
      env,
      {
        cwd: ROOT,
      },
    );
    expect(curl.code, curl.stderr).toBe(0);
    const answer = JSON.parse(curl.stdout) as {
      access_token: string;
      token_type: string;
      expires_on: number;
    };
    expect(answer.access_token).toMatch(JWT_SHAPE);
    expect(answer.token_type).toBe('Bearer');
    expect(answer.expires_on * 1000).toBeGreaterThan(Date.now());

    // Ctrl-C in each shell stops it: serve says so and its URL stops answering; so do the
    // emulators. (npm itself dies of the SIGINT, as it does in a terminal: no exit code to check.)
    interrupt(serve);
    await serve.closed;
    expect(serve.stderr()).toContain('Stopping the metadata service.');
    await expect(fetch(url)).rejects.toThrow();
    interrupt(emulators);
    await emulators.closed;
    await expect(fetch(`${host}/.well-known/databricks-config`)).rejects.toThrow();
  }, 180_000);
});
