// `npm run demo`: the whole login against the local emulators, offline, as a readable transcript.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { agentEndpoints, plainVariables, runTask } from '../test/e2e/azure-devops-agent.ts';
import { jobEnv, runCli } from '../test/e2e/cli-runner.ts';
import { ROOT, runActionStep, runSdkMe } from '../test/e2e/github-runner.ts';
import { CiIssuer } from '../test/emulators/ci-issuers.ts';
import { type Emulators, startEmulators } from '../test/emulators/index.ts';

const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);

function mask(text: string, secrets: string[]): string {
  return secrets.reduce((out, secret) => (secret ? out.split(secret).join('***') : out), text);
}

async function githubDemo(emu: Emulators): Promise<void> {
  console.log(bold('\n== GitHub Action: mode token =='));
  console.log(`Emulated GitHub runner ${emu.github.url}, Databricks workspace ${emu.databricks.url}`);
  console.log(`Service principal ${emu.servicePrincipal.applicationId} has a federation policy for`);
  console.log(`  ${JSON.stringify(emu.servicePrincipal.policies[0])}\n`);
  console.log(
    bold('$ node dist/main.cjs   (with: host, client-id, mode: token; permissions: id-token: write)'),
  );
  const run = await runActionStep('main', {
    inputs: {
      mode: 'token',
      host: `${emu.databricks.url}/?o=1234567890`,
      'client-id': emu.servicePrincipal.applicationId,
    },
    env: emu.github.env,
  });
  const secrets = [...run.masks];
  for (const line of run.stdout.split('\n')) {
    if (line.startsWith('::debug::')) continue; // the runner shows these only with debug logging on
    if (line.startsWith('::add-mask::'))
      console.log('  ::add-mask::*** (the runner hides this value from now on)');
    else if (line.trim()) console.log(`  ${mask(line, secrets)}`);
  }
  if (run.code !== 0) throw new Error(`the action failed with exit code ${run.code}`);
  console.log(bold('\nExported for later steps (GITHUB_ENV):'));
  for (const [name, value] of Object.entries(run.exportedEnv))
    console.log(`  ${name}=${mask(value, secrets)}`);
  console.log(bold('\nOutputs (GITHUB_OUTPUT):'));
  for (const [name, value] of Object.entries(run.outputs)) console.log(`  ${name}=${mask(value, secrets)}`);
  console.log(bold('\nA later step: the Databricks JS SDK, configured only by that environment:'));
  const sdk = await runSdkMe(run.exportedEnv);
  if (sdk.error) throw new Error(`the SDK failed: ${sdk.error}`);
  console.log(`  currentUser.me().userName = ${sdk.userName}`);

  console.log(bold('\n== GitHub Action: a subject that no policy matches =='));
  const original = { ...emu.github.claims };
  Object.assign(emu.github.claims, {
    sub: 'repo:octo-org/octo-repo:ref:refs/heads/feature-x',
    ref: 'refs/heads/feature-x',
    environment: undefined,
  });
  const failed = await runActionStep('main', {
    inputs: { host: emu.databricks.url, 'client-id': emu.servicePrincipal.applicationId },
    env: emu.github.env,
  });
  emu.github.claims = original;
  console.log(`  exit code ${failed.code}; the error the user sees:`);
  for (const line of (failed.errors[0] ?? '').split('\n')) console.log(`  | ${line}`);
}

async function azureDevOpsDemo(emu: Emulators): Promise<void> {
  console.log(bold('\n== Azure DevOps task DatabricksOidcLogin@1: the pipeline identity, mode token =='));
  console.log(
    bold(
      '$ node DatabricksOidcLoginV1/main.js   (inputs: host, clientId, mode: token; the agent provides SYSTEMVSSCONNECTION)',
    ),
  );
  // Agent.TempDirectory lives as long as the job: the config file must outlive the task.
  const agentTemp = mkdtempSync(join(tmpdir(), 'agent-temp-'));
  try {
    await azureDevOpsTask(emu, agentTemp);
  } finally {
    rmSync(agentTemp, { recursive: true, force: true });
  }
}

async function azureDevOpsTask(emu: Emulators, agentTemp: string): Promise<void> {
  const run = await runTask('main', emu, {
    inputs: { mode: 'token', host: emu.databricks.url, clientId: emu.servicePrincipal.applicationId },
    env: agentEndpoints(emu, { includeConnection: false }),
    tempDirectory: agentTemp,
  });
  for (const line of run.stdout.split('\n')) {
    if (line.startsWith('##vso[task.debug]')) continue; // shown only with system.debug
    if (line.startsWith('##vso[task.setsecret]'))
      console.log('  ##vso[task.setsecret]*** (the agent masks this value from now on)');
    else if (line.startsWith('##vso[task.setvariable')) {
      const secret = line.includes('issecret=true');
      console.log(
        `  ${line.slice(0, line.indexOf(']') + 1)}${secret ? '***' : line.slice(line.indexOf(']') + 1)}`,
      );
    } else if (line.trim()) console.log(`  ${mask(line, run.secrets)}`);
  }
  if (run.result?.status !== 'Succeeded') throw new Error(`the task failed: ${run.result?.message}`);
  console.log(bold('\nA later script: step gets the plain variables only; the Databricks JS SDK with them:'));
  const sdk = await runSdkMe(plainVariables(run));
  if (sdk.error) throw new Error(`the SDK failed: ${sdk.error}`);
  console.log(`  currentUser.me().userName = ${sdk.userName}`);
}

/** The CLI in a GitLab-like job: explain, then exec of a command that outlives its first token. */
async function cliDemo(emu: Emulators): Promise<void> {
  const gitlab = await CiIssuer.create('gitlab');
  const audience = 'https://databricks.example/gitlab';
  emu.databricks.trust(gitlab.jwt);
  emu.servicePrincipal.policies.push({
    issuer: gitlab.jwt.issuer,
    audiences: [audience],
    subject: String(gitlab.claims.sub),
  });
  const env = jobEnv({
    GITLAB_CI: 'true',
    DATABRICKS_OIDC_TOKEN: await gitlab.mint(audience, 600),
    DATABRICKS_HOST: emu.databricks.url,
    DATABRICKS_CLIENT_ID: emu.servicePrincipal.applicationId,
  });
  const show = (text: string, prefix = '  ') => {
    for (const line of text.split('\n')) if (line.trim()) console.log(`${prefix}${line}`);
  };

  console.log(bold('\n== CLI in a GitLab-like job: explain (reads the token, exchanges nothing) =='));
  console.log(`The job has id_tokens: { DATABRICKS_OIDC_TOKEN: { aud: ${audience} } }`);
  console.log(bold('$ npx databricks-oidc-login explain'));
  const explain = await runCli(['explain'], env);
  show(explain.stdout);

  console.log(
    bold(
      '\n== CLI in a GitLab-like job: exec -- a command that calls Databricks twice, across a token expiry ==',
    ),
  );
  console.log('Databricks tokens live 5 s here, so the second call needs a fresh one.');
  const cli = 'packages/cli/dist/databricks-oidc-login.cjs';
  console.log(bold(`$ node ${cli} exec -- node test/e2e/sdk-me-loop.mjs 2 7000`));
  const before = emu.databricks.issuedTokens.length;
  const lifetime = emu.databricks.maxTokenLifetimeSeconds;
  emu.databricks.maxTokenLifetimeSeconds = 5;
  try {
    const run = await runCli(
      ['exec', '--', process.execPath, join(ROOT, 'test', 'e2e', 'sdk-me-loop.mjs'), '2', '7000'],
      env,
    );
    console.log('  stderr (for people):');
    show(run.stderr, '  | ');
    console.log('  stdout (the command: the Databricks JS SDK calling currentUser.me()):');
    show(run.stdout, '  | ');
    if (run.code !== 0) throw new Error(`exec failed with exit code ${run.code}`);
    console.log(
      `  exit code ${run.code}; Databricks issued ${emu.databricks.issuedTokens.length - before} tokens during the command.`,
    );
  } finally {
    emu.databricks.maxTokenLifetimeSeconds = lifetime;
  }
}

const emu = await startEmulators();
try {
  await githubDemo(emu);
  await azureDevOpsDemo(emu);
  await cliDemo(emu);
  console.log(bold('\nDemo finished: every step above ran the built bundles against loopback emulators.'));
} catch (error) {
  console.error(`Demo failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await emu.stop();
}
