import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, lstatSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobEnv, type RunningCli, startCli, stopCli, tempDir, waitFor } from '../e2e/cli-runner.ts';
import { CiIssuer } from '../emulators/ci-issuers.ts';
import { type Emulators, startEmulators } from '../emulators/index.ts';
import { newFuzzReport, timeCase, writeFuzzReport } from './hostile-server.ts';

// Issue 19, finding 5: `serve --url-file` in a folder others may write to (an emptyDir without
// the sticky bit). A racer keeps putting a symlink to a canary where the URL file goes; serve must
// never change the canary's mode or content, and must start every time.

const STARTS = Number(process.env.FUZZ_URL_FILE_STARTS ?? 12);
const AUDIENCE = 'databricks';
/** Swaps a fresh symlink to the canary over the URL file, as fast as it can, until killed. */
const RACER = `
const fs = require('node:fs');
const [target, canary] = process.argv.slice(1);
for (let i = 0; ; i++) {
  const link = target + '.racer' + (i % 2);
  try { fs.symlinkSync(canary, link); } catch {}
  try { fs.renameSync(link, target); } catch {}
}`;

let emu: Emulators;
let dir: ReturnType<typeof tempDir>;
let cli: RunningCli | undefined;
let racer: ChildProcess | undefined;

beforeEach(async () => {
  emu = await startEmulators();
  const cluster = await CiIssuer.create('aks');
  emu.databricks.trust(cluster.jwt);
  emu.servicePrincipal.policies.push({
    issuer: cluster.jwt.issuer,
    audiences: [AUDIENCE],
    subject: String(cluster.claims.sub),
  });
  dir = tempDir('url-file-race-');
  writeFileSync(join(dir.path, 'token'), await cluster.mint(AUDIENCE, 600));
});
afterEach(async () => {
  if (racer && racer.exitCode === null && racer.signalCode === null) {
    const gone = new Promise((resolve) => racer?.once('exit', resolve));
    racer.kill('SIGKILL');
    await gone;
  }
  racer = undefined;
  await stopCli(cli);
  cli = undefined;
  await emu.stop();
  dir.remove();
});

describe('fuzz: serve --url-file against a symlink racer', () => {
  it(`never changes the canary, and starts every time, over ${STARTS} starts`, async () => {
    const shared = join(dir.path, 'shared');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(shared, { mode: 0o777 });
    chmodSync(shared, 0o777); // no sticky bit, like an emptyDir
    const canary = join(dir.path, 'canary');
    writeFileSync(canary, 'canary\n');
    chmodSync(canary, 0o644);
    const urlFile = join(shared, 'metadata-url');
    const env = jobEnv({
      DATABRICKS_HOST: emu.databricks.url,
      DATABRICKS_CLIENT_ID: emu.servicePrincipal.applicationId,
      DATABRICKS_OIDC_TOKEN_FILEPATH: join(dir.path, 'token'),
    });

    // Without a racer, a planted symlink is replaced by the file, never followed.
    symlinkSync(canary, urlFile);
    cli = startCli(['serve', '--url-file', urlFile], env);
    const first = cli;
    await waitFor(() => first.stderr().includes('Wrote the metadata service URL'), 'the URL file');
    expect(lstatSync(urlFile).isFile()).toBe(true);
    expect(statSync(urlFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(urlFile, 'utf8')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\S+\n$/);
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);

    racer = spawn(process.execPath, ['-e', RACER, urlFile, canary], { stdio: 'ignore' });
    const report = newFuzzReport();
    const problems: string[] = [];
    for (let i = 0; i < STARTS; i++) {
      const started = Date.now();
      cli = startCli(['serve', '--url-file', urlFile], env);
      const run = cli;
      const ended = run.exited.then(() => 'ended');
      await Promise.race([
        ended,
        waitFor(() => run.stderr().includes('Wrote the metadata service URL'), 'the URL file', 15_000),
      ]).catch(() => undefined);
      report.cases++;
      if (run.stderr().includes('Wrote the metadata service URL')) report.succeeded++;
      else problems.push(`start ${i}: ${run.stderr().split('\n').at(-2) ?? '(no output)'}`);
      if ((statSync(canary).mode & 0o777) !== 0o644 || readFileSync(canary, 'utf8') !== 'canary\n')
        problems.push(`start ${i}: the canary changed (mode ${(statSync(canary).mode & 0o777).toString(8)})`);
      run.child.kill('SIGTERM');
      await run.exited;
      timeCase(report, `start ${i}`, Date.now() - started, 15_000, problems);
    }
    writeFuzzReport('url-file-race', report);
    expect(problems).toEqual([]);
    expect(report.succeeded).toBe(STARTS);
  }, 240_000);
});
