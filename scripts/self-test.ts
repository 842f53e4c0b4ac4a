// The self-test workflow's stand-in for GitHub's token service and Databricks, so `uses: ./` can
// run on every runner OS with no account and no secret (.github/workflows/self-test.yml):
//   start                 launch the emulators in a detached process; append their coordinates to
//                         $GITHUB_ENV. In mode refresh (SELFTEST_MODE) tokens live 20 s, so that
//                         later steps run across an expiry (SELFTEST_TOKEN_LIFETIME_SECONDS overrides)
//   verify                check, as a later step, that the real Databricks SDK reaches the workspace
//                         as the principal
//   verify-across-expiry  wait until the first token (DATABRICKS_TOKEN) is refused, then verify
//   check-post            run the action's post step (dist/post.cjs) as the runner does, then check
//                         that it stopped the service and that nothing answers at its URL any more
//   stop                  end the emulators
// The job must not have `id-token: write`: then the runner does not set ACTIONS_ID_TOKEN_REQUEST_*
// itself, and the values written here reach the action.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IDENTIFY_HEADER } from '../packages/core/src/serve/metadata-server.ts';
import { isProcessAlive } from '../packages/core/src/serve/service-stop.ts';
import { startEmulators } from '../test/emulators/index.ts';

/** The checkout: this script runs as build/self-test.mjs. */
const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const stateFile = join(process.env.RUNNER_TEMP || tmpdir(), 'databricks-oidc-login-self-test.json');

interface SelfTestState {
  pid: number;
  env: Record<string, string>;
}

function tokenLifetimeSeconds(): number {
  const given = Number(process.env.SELFTEST_TOKEN_LIFETIME_SECONDS);
  if (given > 0) return given;
  return process.env.SELFTEST_MODE === 'refresh' ? 20 : 3600;
}

async function serve(): Promise<void> {
  const emu = await startEmulators({ databricks: { maxTokenLifetimeSeconds: tokenLifetimeSeconds() } });
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

async function scimStatus(token: string): Promise<number> {
  const response = await fetch(`${process.env.DATABRICKS_HOST}/api/2.0/preview/scim/v2/Me`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return response.status;
}

async function verifyAcrossExpiry(): Promise<void> {
  const first = process.env.DATABRICKS_TOKEN ?? '';
  const deadline = Date.now() + 3 * 60_000;
  while ((await scimStatus(first)) === 200) {
    if (Date.now() > deadline) throw new Error('the first token did not expire within 3 minutes');
    await sleep(1_000);
  }
  console.log('The first token (DATABRICKS_TOKEN) has expired and is refused now.');
  await verify();
}

/** The PID the metadata service at `url` reports for itself. */
async function servicePid(url: string): Promise<number> {
  const response = await fetch(url, { headers: { [IDENTIFY_HEADER]: '1' } });
  const answer = (await response.json()) as { pid?: unknown };
  if (typeof answer.pid !== 'number') throw new Error(`the service at its URL answered ${response.status}`);
  return answer.pid;
}

// A step cannot follow the post steps (they run after every step of the job), so this step runs
// the post step's bundle itself, with the state the main step saved, and checks what it left.
async function checkPost(): Promise<void> {
  const url = process.env.DATABRICKS_METADATA_SERVICE_URL ?? '';
  const pid = await servicePid(url);
  const post = spawnSync(process.execPath, [join(ROOT, 'dist', 'post.cjs')], {
    env: { ...process.env, 'STATE_metadata-service-pid': String(pid), 'STATE_metadata-service-url': url },
    encoding: 'utf8',
    timeout: 30_000,
  });
  process.stdout.write(post.stdout);
  if (post.status !== 0) throw new Error(`the post step exited with ${post.status}: ${post.stderr}`);
  if (!post.stdout.includes(`Stopped the local metadata service (pid ${pid}).`)) {
    throw new Error('the post step did not say it stopped the service');
  }
  for (let waited = 0; isProcessAlive(pid); waited += 100) {
    if (waited > 5_000) throw new Error(`the metadata service (pid ${pid}) still runs after the post step`);
    await sleep(100);
  }
  const stillAnswers = await fetch(url).then(
    () => true,
    () => false,
  );
  if (stillAnswers) throw new Error('something still answers at the metadata service URL');
  console.log(`The post step stopped the metadata service (pid ${pid}); nothing is left running.`);
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

const commands: Record<string, () => void | Promise<void>> = {
  serve,
  start,
  verify,
  'verify-across-expiry': verifyAcrossExpiry,
  'check-post': checkPost,
  stop,
};
const run = commands[process.argv[2] ?? ''];
if (!run) {
  console.error('usage: self-test.mjs start|verify|verify-across-expiry|check-post|stop');
  process.exit(2);
}
Promise.resolve(run()).catch((error: unknown) => {
  console.error(`self-test: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
