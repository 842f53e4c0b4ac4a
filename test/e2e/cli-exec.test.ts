import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../packages/core/src/index.ts';
import { CiIssuer } from '../emulators/ci-issuers.ts';
import { type Emulators, startEmulators } from '../emulators/index.ts';
import {
  CLI,
  JWT_SHAPE,
  jobEnv,
  type RunningCli,
  runCli,
  startCli,
  stopCli,
  tempDir,
  waitFor,
} from './cli-runner.ts';
import { ROOT } from './github-runner.ts';

const AUDIENCE = 'https://databricks.example/jobs';
let emu: Emulators;
let issuer: CiIssuer;
let dir: ReturnType<typeof tempDir>;
let cli: RunningCli | undefined;
const childPids: number[] = [];

beforeEach(async () => {
  emu = await startEmulators();
  issuer = await CiIssuer.create('gitlab');
  emu.databricks.trust(issuer.jwt);
  emu.servicePrincipal.policies.push({
    issuer: issuer.jwt.issuer,
    audiences: [AUDIENCE],
    subject: String(issuer.claims.sub),
  });
  dir = tempDir('cli-exec-');
});
afterEach(async () => {
  await stopCli(cli);
  cli = undefined;
  for (const pid of childPids.splice(0)) if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
  await emu.stop();
  dir.remove();
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  return jobEnv({
    DATABRICKS_HOST: emu.databricks.url,
    DATABRICKS_CLIENT_ID: emu.servicePrincipal.applicationId,
    GITLAB_CI: 'true',
    ...extra,
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('databricks-oidc-login exec', () => {
  it('keeps a long command authenticated across token lifetimes while the token file rotates', async () => {
    const tokenFile = join(dir.path, 'token');
    const written: string[] = [];
    const rotate = async () => {
      const token = await issuer.mint(AUDIENCE, 5); // a 5 s projected token, replaced every 2 s
      writeFileSync(tokenFile, `${token}\n`);
      written.push(token);
    };
    await rotate();
    const rotation = setInterval(() => void rotate(), 2_000);
    try {
      const run = await runCli(
        [
          'exec',
          '--token-file',
          tokenFile,
          '--',
          process.execPath,
          join(ROOT, 'test', 'e2e', 'sdk-me-loop.mjs'),
          '7',
          '2000',
        ],
        env(),
        90_000,
      );
      expect(run.stderr).toContain(`Token source: the file ${tokenFile}`);
      expect(run.code, run.stderr).toBe(0);
      const calls = run.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { userName: string; at: string });
      expect(calls).toHaveLength(7);
      for (const call of calls) expect(call.userName).toBe(emu.servicePrincipal.applicationId);
      // 12 s of calls over 5 s tokens: at least three Databricks tokens, each minted from what the file held then.
      const sent = emu.databricks.requestsTo('/oidc/v1/token').map((r) => r.form.get('subject_token') ?? '');
      expect(new Set(emu.databricks.issuedTokens).size).toBeGreaterThanOrEqual(3);
      // Refreshes read the file again: several of its successive contents were exchanged.
      expect(new Set(sent).size).toBeGreaterThanOrEqual(2);
      for (const token of sent) expect(written).toContain(token);
      expect(run.stderr).not.toMatch(JWT_SHAPE);
    } finally {
      clearInterval(rotation);
    }
  });

  it('passes the exit code through, 127 when the command cannot start, 128+N when a signal ended it', async () => {
    const token = await issuer.mint(AUDIENCE, 300);
    const seven = await runCli(['exec', '--', 'sh', '-c', 'exit 7'], env({ DATABRICKS_OIDC_TOKEN: token }));
    expect(seven.code).toBe(7);
    const missing = await runCli(
      ['exec', '--', join(dir.path, 'no-such-command')],
      env({ DATABRICKS_OIDC_TOKEN: token }),
    );
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('cannot run');
    const killed = await runCli(
      ['exec', '--', 'sh', '-c', 'kill -TERM $$'],
      env({ DATABRICKS_OIDC_TOKEN: token }),
    );
    expect(killed.code).toBe(143);
    // A failed login runs nothing.
    const refused = await runCli(
      ['exec', '--', 'sh', '-c', `touch ${join(dir.path, 'ran')}`],
      env({ DATABRICKS_OIDC_TOKEN: await issuer.mint('https://other', 300) }),
    );
    expect(refused.code).toBe(1);
    expect(() => readFileSync(join(dir.path, 'ran'))).toThrow();
  });

  it('gives the command the variables, forwards SIGTERM, and leaves nothing running', async () => {
    const token = await issuer.mint(AUDIENCE, 300);
    const seen = join(dir.path, 'seen.json');
    // The child records what it got, then waits for a signal and exits 0 once it has one.
    const script = `
      const fs = require('node:fs');
      const e = process.env;
      fs.writeFileSync(${JSON.stringify(seen)}, JSON.stringify({ pid: process.pid, host: e.DATABRICKS_HOST, type: e.DATABRICKS_AUTH_TYPE, url: e.DATABRICKS_METADATA_SERVICE_URL, token: e.DATABRICKS_TOKEN }), { mode: 0o600 });
      let n = 0;
      process.on('SIGTERM', () => { if (++n === 1) setTimeout(() => { process.stdout.write('child got SIGTERM x' + n); process.exit(0); }, 500); });
      setInterval(() => {}, 1000);`;
    // As a CI stops a job: SIGTERM to exec alone, which has no terminal.
    cli = startCli(['exec', '--', process.execPath, '-e', script], env({ DATABRICKS_OIDC_TOKEN: token }), {
      noTerminal: true,
    });
    await waitFor(() => {
      try {
        return JSON.parse(readFileSync(seen, 'utf8')).pid > 0;
      } catch {
        return false;
      }
    }, 'the child to start');
    const got = JSON.parse(readFileSync(seen, 'utf8')) as {
      pid: number;
      host: string;
      type: string;
      url: string;
      token: string;
    };
    childPids.push(got.pid);
    expect(got.host).toBe(emu.databricks.url);
    expect(got.type).toBe('metadata-service');
    expect(got.token).toBe(emu.databricks.issuedTokens[0]);
    expect(got.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{43}$/);
    const answer = await fetch(got.url, {
      headers: { 'X-Databricks-Metadata-Version': '1', 'X-Databricks-Host': emu.databricks.url },
    });
    expect(((await answer.json()) as { access_token: string }).access_token).toBe(got.token);

    cli.child.kill('SIGTERM');
    const ended = await cli.exited;
    expect(ended.code).toBe(0);
    expect(cli.stdout()).toBe('child got SIGTERM x1');
    expect(isProcessAlive(got.pid)).toBe(false);
    await expect(fetch(got.url)).rejects.toThrow();
    expect(cli.stderr()).not.toMatch(JWT_SHAPE);
    expect(cli.stderr()).not.toContain(got.url);
  });

  it('without a terminal passes a SIGINT sent to exec on once, and reports a command killed by SIGKILL as 137', async () => {
    const token = await issuer.mint(AUDIENCE, 300);
    const pidFile = join(dir.path, 'pid');
    const script = `
      let n = 0;
      process.on('SIGINT', () => { if (++n === 1) setTimeout(() => { process.stdout.write('SIGINT x' + n); process.exit(130); }, 500); });
      require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
      setInterval(() => {}, 1000);`;
    cli = startCli(['exec', '--', process.execPath, '-e', script], env({ DATABRICKS_OIDC_TOKEN: token }), {
      noTerminal: true,
    });
    await waitFor(() => {
      try {
        return Number(readFileSync(pidFile, 'utf8')) > 0;
      } catch {
        return false;
      }
    }, 'the shell to start');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    childPids.push(pid);
    await sleep(200);
    cli.child.kill('SIGINT');
    expect((await cli.exited).code).toBe(130);
    expect(cli.stdout()).toBe('SIGINT x1');
    expect(isProcessAlive(pid)).toBe(false);

    const pidFile2 = join(dir.path, 'pid2');
    cli = startCli(
      ['exec', '--', 'sh', '-c', `echo $$ > ${pidFile2}; while :; do sleep 0.1; done`],
      env({ DATABRICKS_OIDC_TOKEN: token }),
    );
    await waitFor(() => {
      try {
        return Number(readFileSync(pidFile2, 'utf8')) > 0;
      } catch {
        return false;
      }
    }, 'the second shell to start');
    const pid2 = Number(readFileSync(pidFile2, 'utf8'));
    childPids.push(pid2);
    process.kill(pid2, 'SIGKILL');
    expect((await cli.exited).code).toBe(137);
  });

  // A terminal's Ctrl-C signals the whole foreground process group, exec and its command alike.
  // script(1) gives exec a real terminal, and the ^C typed into it goes through the kernel's
  // line discipline as a keyboard's would.
  it.runIf(process.platform === 'linux')(
    'in a terminal, one Ctrl-C reaches the command once, and exec keeps serving it while it shuts down',
    async () => {
      const token = await issuer.mint(AUDIENCE, 300);
      const ready = join(dir.path, 'ready.json');
      const report = join(dir.path, 'report.json');
      // Like Terraform: the first SIGINT starts a graceful shutdown that still calls Databricks.
      const command = `
        const fs = require('node:fs');
        let n = 0;
        process.on('SIGINT', () => {
          if (++n > 1) return;
          setTimeout(async () => {
            const r = await fetch(process.env.DATABRICKS_METADATA_SERVICE_URL, { headers: { 'X-Databricks-Metadata-Version': '1', 'X-Databricks-Host': process.env.DATABRICKS_HOST } });
            fs.writeFileSync(${JSON.stringify(report)}, JSON.stringify({ sigints: n, status: r.status }));
            process.exit(3);
          }, 1000);
        });
        fs.writeFileSync(${JSON.stringify(ready)}, JSON.stringify({ pid: process.pid, exec: process.ppid }));
        setInterval(() => {}, 1000);`;
      const quote = (word: string) => `'${word.replace(/'/g, "'\\''")}'`;
      const line = ['exec', process.execPath, CLI, 'exec', '--', process.execPath, '-e', command]
        .map((w, i) => (i === 0 ? w : quote(w)))
        .join(' ');
      const terminal = spawn('script', ['-qfec', line, '/dev/null'], {
        env: env({ DATABRICKS_OIDC_TOKEN: token }),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let output = '';
      terminal.stdout.on('data', (d: Buffer) => {
        output += d.toString();
      });
      const ended = new Promise<number | null>((resolve) => terminal.on('close', resolve));
      try {
        await waitFor(
          () => existsSync(ready) && readFileSync(ready, 'utf8').length > 0,
          'the command to start',
        );
        const started = JSON.parse(readFileSync(ready, 'utf8')) as { pid: number; exec: number };
        childPids.push(started.pid, started.exec);
        await sleep(200);
        terminal.stdin.write('\x03');
        expect(await ended, output).toBe(3);
        expect(JSON.parse(readFileSync(report, 'utf8'))).toEqual({ sigints: 1, status: 200 });
        expect(isProcessAlive(started.exec)).toBe(false);
      } finally {
        terminal.kill('SIGKILL');
      }
    },
  );

  it('gives the command none of the credentials it logged in with, unless --pass-env keeps one', async () => {
    const token = await issuer.mint(AUDIENCE, 300);
    const parent = env({
      DATABRICKS_OIDC_TOKEN: token,
      DATABRICKS_CLIENT_SECRET: 'parent-client-secret',
      DATABRICKS_TOKEN: 'dapi-parent-pat',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'parent-request-token',
      ACTIONS_ID_TOKEN_REQUEST_URL: 'https://token.actions.example/x?a=1',
      SYSTEM_ACCESSTOKEN: 'parent-job-token',
      DATABRICKS_OIDC_TOKEN_FILEPATH: join(dir.path, 'nothing-here'),
      CI_OTHER_ID_TOKEN: 'named-by-token-env',
      KEEP_ME: 'an ordinary variable',
    });
    const print = `process.stdout.write(JSON.stringify(process.env))`;
    // GitHub's request variables would be detected first: name the source.
    const base = ['exec', '--token-source', 'gitlab'];
    const seen = async (args: string[], extra: Record<string, string> = {}) => {
      const run = await runCli([...base, ...args, '--', process.execPath, '-e', print], {
        ...parent,
        ...extra,
      });
      expect(run.code, run.stderr).toBe(0);
      return { env: JSON.parse(run.stdout) as Record<string, string>, stderr: run.stderr };
    };

    const plain = await seen([]);
    for (const name of [
      'DATABRICKS_CLIENT_SECRET',
      'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
      'ACTIONS_ID_TOKEN_REQUEST_URL',
      'SYSTEM_ACCESSTOKEN',
      'DATABRICKS_OIDC_TOKEN',
      'DATABRICKS_OIDC_TOKEN_FILEPATH',
    ])
      expect(plain.env, name).not.toHaveProperty(name);
    expect(plain.env.DATABRICKS_TOKEN).toBe(emu.databricks.issuedTokens.at(-1));
    expect(plain.env.KEEP_ME).toBe('an ordinary variable');
    expect(plain.env.CI_OTHER_ID_TOKEN).toBe('named-by-token-env'); // not an input this time
    expect(JSON.stringify(plain.env)).not.toContain(token);

    // The --token-env variable is the ID token, and --pass-env keeps what is named.
    const custom = await seen(
      ['--pass-env', 'SYSTEM_ACCESSTOKEN', '--pass-env', 'ACTIONS_ID_TOKEN_REQUEST_URL'],
      {
        DATABRICKS_OIDC_TOKEN_ENV: 'CI_OTHER_ID_TOKEN',
        CI_OTHER_ID_TOKEN: token,
      },
    );
    expect(custom.env).not.toHaveProperty('CI_OTHER_ID_TOKEN');
    expect(custom.env.SYSTEM_ACCESSTOKEN).toBe('parent-job-token');
    expect(custom.env.ACTIONS_ID_TOKEN_REQUEST_URL).toBe('https://token.actions.example/x?a=1');
    expect(custom.env).not.toHaveProperty('ACTIONS_ID_TOKEN_REQUEST_TOKEN');

    // Keeping the parent's DATABRICKS_TOKEN, or a variable exec never drops, is no choice: say so.
    const useless = await seen(['--pass-env', 'DATABRICKS_TOKEN', '--pass-env', 'KEEP_ME']);
    expect(useless.env.DATABRICKS_TOKEN).not.toBe('dapi-parent-pat');
    expect(useless.stderr).toContain(
      'warning: --pass-env DATABRICKS_TOKEN: the command always gets the fresh token',
    );
    expect(useless.stderr).toContain('warning: --pass-env KEEP_ME: exec does not drop KEEP_ME');

    const bad = await runCli([...base, '--pass-env', 'A=B', '--', 'true'], parent);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--pass-env "A=B" is not a variable name');
  });
});
