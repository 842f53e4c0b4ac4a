// The self-test workflow's stand-in for GitHub's token service and Databricks, so `uses: ./` can
// run on every runner OS with no account and no secret (.github/workflows/self-test.yml):
//   start   launch the emulators in a detached process; append their coordinates to $GITHUB_ENV
//   verify  check, as a later step, that the real Databricks SDK reaches the workspace as the principal
//   stop    end the emulators
// The job must not have `id-token: write`: then the runner does not set ACTIONS_ID_TOKEN_REQUEST_*
// itself, and the values written here reach the action.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulators } from '../test/emulators/index.ts';

const stateFile = join(process.env.RUNNER_TEMP || tmpdir(), 'databricks-oidc-login-self-test.json');

interface SelfTestState {
  pid: number;
  env: Record<string, string>;
}

async function serve(): Promise<void> {
  const emu = await startEmulators();
  const state: SelfTestState = {
    pid: process.pid,
    env: {
      SELFTEST_HOST: emu.databricks.url,
      SELFTEST_CLIENT_ID: emu.servicePrincipal.applicationId,
      ...emu.github.env,
    },
  };
  writeFileSync(stateFile, JSON.stringify(state), { mode: 0o600 });
  const stop = () => void emu.stop().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // A safety limit, so a forgotten emulator never outlives a job.
  setTimeout(stop, 30 * 60 * 1000).unref();
  setInterval(() => undefined, 60_000);
}

async function start(): Promise<void> {
  rmSync(stateFile, { force: true });
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'serve'], {
    detached: true,
    stdio: 'ignore',
    env: process.env,
  });
  child.unref();
  const deadline = Date.now() + 20_000;
  while (!existsSync(stateFile)) {
    if (Date.now() > deadline) throw new Error('the emulators did not start within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as SelfTestState;
  const lines = Object.entries({ ...state.env, SELFTEST_PID: String(state.pid) }).map(
    ([k, v]) => `${k}=${v}`,
  );
  if (process.env.GITHUB_ENV) appendFileSync(process.env.GITHUB_ENV, `${lines.join('\n')}\n`);
  else console.log(lines.join('\n'));
  console.log(`Emulators of GitHub and Databricks listen at ${state.env.SELFTEST_HOST} (pid ${state.pid}).`);
}

async function verify(): Promise<void> {
  const { WorkspaceClient } = await import('@databricks/sdk-experimental');
  const me = await new WorkspaceClient({}).currentUser.me();
  if (me.userName !== process.env.SELFTEST_CLIENT_ID) {
    throw new Error(`the SDK reached the workspace as ${me.userName}, not ${process.env.SELFTEST_CLIENT_ID}`);
  }
  console.log(
    `A later step's SDK reached ${process.env.DATABRICKS_HOST} as ${me.userName} (auth type ${process.env.DATABRICKS_AUTH_TYPE}).`,
  );
}

function stop(): void {
  const pid = Number(process.env.SELFTEST_PID);
  if (pid) {
    try {
      process.kill(pid);
    } catch {
      // already gone
    }
  }
  rmSync(stateFile, { force: true });
}

const commands: Record<string, () => void | Promise<void>> = { serve, start, verify, stop };
const run = commands[process.argv[2] ?? ''];
if (!run) {
  console.error('usage: self-test.mjs start|verify|stop');
  process.exit(2);
}
Promise.resolve(run()).catch((error: unknown) => {
  console.error(`self-test: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
