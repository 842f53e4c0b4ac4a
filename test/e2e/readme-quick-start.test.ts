import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { stopMetadataService } from '../../packages/core/src/index.ts';
import { RELEASE } from '../../scripts/release-info.mjs';
import { type Emulators, type OidcPolicy, startEmulators } from '../emulators/index.ts';
import {
  codeBlocks,
  entraFederatedCredentials,
  federationPolicies,
  guide,
  README_EXAMPLES,
  section,
} from '../release/readme.ts';
import { agentEndpoints, plainVariables, runTask } from './azure-devops-agent.ts';
import { runActionStep, runSdkMe } from './github-runner.ts';

// Follows the README literally, as far as the emulators reach: the quick-start workflow's and
// pipeline's login step with exactly the inputs the README gives, against exactly the federation
// policy the setup walkthrough tells the reader to create. Only the example values a reader
// replaces (host, application ID, numeric ID, organisation) become the emulators' values.

interface WorkflowStep {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  permissions: Record<string, string>;
  jobs: Record<string, { environment?: string; 'runs-on': string; steps: WorkflowStep[] }>;
}
interface PipelineStep {
  task?: string;
  script?: string;
  name?: string;
  inputs?: Record<string, unknown>;
}

let emu: Emulators | undefined;
let temp: string | undefined;
const started: number[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((pid) => stopMetadataService(pid)));
  await emu?.stop();
  emu = undefined;
  if (temp) rmSync(temp, { recursive: true, force: true });
  temp = undefined;
});

/** The README's example values, replaced by the emulators' own: what a reader does with theirs. */
function asReader(text: string, emulators: Emulators): string {
  return text
    .replaceAll(README_EXAMPLES.host, emulators.databricks.url)
    .replaceAll(README_EXAMPLES.applicationId, emulators.servicePrincipal.applicationId);
}

/** The README's federation policy that `match` picks, exactly as printed. */
function readmePolicy(match: (policy: OidcPolicy) => boolean): OidcPolicy {
  const found = federationPolicies().filter((p) => match(p.policy));
  expect(found, 'the docs show this federation policy once').toHaveLength(1);
  expect(found[0]?.servicePrincipalId).toBe(README_EXAMPLES.servicePrincipalId);
  return found[0]?.policy as OidcPolicy;
}

/** A README policy as the reader creates it for their own workspace. */
function policyFor(policy: OidcPolicy, emulators: Emulators): OidcPolicy {
  return JSON.parse(asReader(JSON.stringify(policy), emulators)) as OidcPolicy;
}

const classicForm = (p: OidcPolicy) => p.subject?.startsWith(`repo:${README_EXAMPLES.repository}:`) ?? false;

function quickStartWorkflow(): { workflow: Workflow; job: Workflow['jobs'][string]; login: WorkflowStep } {
  const [yaml] = codeBlocks(section('## GitHub quick start'), 'yaml');
  const workflow = parse(yaml ?? '') as Workflow;
  const [job] = Object.values(workflow.jobs);
  const login = job?.steps.find((s) => s.uses?.startsWith(`${RELEASE.repository}@`));
  if (!job || !login) throw new Error('the GitHub quick start has no job with this action');
  return { workflow, job, login };
}

/** Runs the quick-start login step as the runner would, then what `databricks bundle deploy` would do with its result. */
async function followGitHubQuickStart(emulators: Emulators, login: WorkflowStep) {
  const inputs = Object.fromEntries(
    Object.entries(login.with ?? {}).map(([k, v]) => [k, asReader(String(v), emulators)]),
  );
  const runnerTemp = mkdtempSync(join(tmpdir(), 'runner-temp-'));
  if (temp) rmSync(temp, { recursive: true, force: true });
  temp = runnerTemp;
  const run = await runActionStep('main', { inputs, env: emulators.github.env, runnerTemp });
  const pid = Number(run.state['metadata-service-pid']);
  if (pid) started.push(pid);
  return { run, inputs, runnerTemp };
}

describe('README, GitHub quick start', () => {
  it('is a complete workflow: OIDC permission, pinned tools, this action at its major tag, a deploy', () => {
    const { workflow, job, login } = quickStartWorkflow();
    expect(workflow.permissions['id-token']).toBe('write');
    for (const step of job.steps.filter((s) => s.uses)) {
      expect(step.uses, 'every action is pinned to a release, not a branch').toMatch(/@v\d+(\.\d+\.\d+)?$/);
    }
    expect(job.steps.find((s) => s.uses?.startsWith('databricks/setup-cli@'))?.uses).toMatch(
      /@v\d+\.\d+\.\d+$/,
    );
    expect(login.uses).toBe(`${RELEASE.repository}@v${RELEASE.version.split('.')[0]}`);
    expect(job.steps.at(-1)?.run).toContain('databricks bundle deploy');
    expect(job.steps.indexOf(login)).toBeLessThan(job.steps.length - 1);
  });

  it('logs in with the classic-subject policy of the walkthrough, and later steps reach the workspace', async () => {
    const { job, login } = quickStartWorkflow();
    emu = await startEmulators({
      github: {
        claims: {
          sub: `repo:${README_EXAMPLES.repository}:environment:${job.environment}`,
          repository: README_EXAMPLES.repository,
          environment: job.environment,
        },
      },
    });
    const policy = policyFor(readmePolicy(classicForm), emu);
    emu.servicePrincipal.policies.splice(0, emu.servicePrincipal.policies.length, policy);

    const { run, inputs, runnerTemp } = await followGitHubQuickStart(emu, login);
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    expect(inputs.mode).toBe('refresh');
    // `databricks bundle deploy` authenticates from the exported variables alone; the real SDK stands in.
    expect(await runSdkMe(run.exportedEnv)).toMatchObject({ userName: emu.servicePrincipal.applicationId });
    const post = await runActionStep('post', { state: run.state, runnerTemp });
    expect(post.code).toBe(0);
  });

  it('logs in with the immutable-subject policy; a policy in the other form is refused with the policy to create', async () => {
    const { job, login } = quickStartWorkflow();
    const [owner, repo] = README_EXAMPLES.repository.split('/');
    const immutable = readmePolicy((p) => p.subject?.startsWith(`repo:${owner}@`) ?? false);
    const sub = immutable.subject ?? '';
    expect(sub).toMatch(new RegExp(`^repo:${owner}@\\d+/${repo}@\\d+:environment:${job.environment}$`));
    emu = await startEmulators({ github: { claims: { sub, environment: job.environment } } });

    // A classic-form policy does not match a repository that gets immutable subjects ...
    const classic = policyFor(readmePolicy(classicForm), emu);
    emu.servicePrincipal.policies.splice(0, emu.servicePrincipal.policies.length, classic);
    const refused = await followGitHubQuickStart(emu, login);
    expect(refused.run.code).not.toBe(0);
    // ... and the step prints the policy built from the real token, as the README promises.
    expect(refused.run.errors.join('\n')).toContain(`"subject":"${sub}"`);

    emu.servicePrincipal.policies.splice(0, 1, policyFor(immutable, emu));
    const accepted = await followGitHubQuickStart(emu, login);
    expect(accepted.run.errors).toEqual([]);
    expect(await runSdkMe(accepted.run.exportedEnv)).toMatchObject({
      userName: emu.servicePrincipal.applicationId,
    });
    const post = await runActionStep('post', { state: accepted.run.state, runnerTemp: accepted.runnerTemp });
    expect(post.code).toBe(0);
  });
});

describe('docs/setup-walkthrough.md, Microsoft Entra ID instead', () => {
  it('logs in with the federated credential of the walkthrough and the step it shows', async () => {
    const [added] = entraFederatedCredentials();
    expect(added?.appId).toBe(README_EXAMPLES.applicationId);
    const { credential } = added ?? { credential: { issuer: '', subject: '', audiences: [] } };
    const { job } = quickStartWorkflow();
    expect(credential.subject).toBe(`repo:${README_EXAMPLES.repository}:environment:${job.environment}`);
    emu = await startEmulators({ github: { claims: { sub: credential.subject } } });
    const app = emu.entra.apps[0];
    if (!app) throw new Error('the Entra emulator has no app');
    // Exactly the credential the reader adds; no Databricks federation policy at all.
    app.federatedCredentials = [
      { issuer: credential.issuer, subject: credential.subject, audiences: credential.audiences },
    ];
    emu.servicePrincipal.policies.splice(0);

    const [yaml] = codeBlocks(
      section('## Microsoft Entra ID instead (provider azure)', guide('setup-walkthrough')),
      'yaml',
    );
    const [step] = parse(yaml ?? '') as WorkflowStep[];
    const inputs = Object.fromEntries(
      Object.entries(step?.with ?? {}).map(([k, v]) => [
        k,
        asReader(String(v), emu as Emulators).replace(README_EXAMPLES.tenantId, emu?.entra.tenantId ?? ''),
      ]),
    );
    expect(inputs.provider).toBe('azure');
    // The one thing the README leaves to the runner: where Entra ID is (here, its emulator).
    const run = await runActionStep('main', {
      inputs,
      env: { ...emu.github.env, AZURE_AUTHORITY_HOST: emu.entra.url },
    });
    expect(run.errors).toEqual([]);
    expect(emu.entra.requestsTo(`/${emu.entra.tenantId}/oauth2/v2.0/token`)).toHaveLength(1);
    expect(await runSdkMe(run.exportedEnv)).toMatchObject({ userName: emu.servicePrincipal.applicationId });
  });
});

describe('README, Azure DevOps quick start', () => {
  function quickStartPipeline(): { steps: PipelineStep[]; login: PipelineStep } {
    const [yaml] = codeBlocks(section('## Azure DevOps quick start'), 'yaml');
    const pipeline = parse(yaml ?? '') as { steps: PipelineStep[] };
    const login = pipeline.steps.find((s) => s.task?.startsWith('DatabricksOidcLogin@'));
    if (!login) throw new Error('the Azure DevOps quick start has no DatabricksOidcLogin step');
    return { steps: pipeline.steps, login };
  }

  it('is a complete pipeline: the CLI installed at a pinned version, the task with a name, a deploy', () => {
    const { steps, login } = quickStartPipeline();
    expect(login.task).toBe(`DatabricksOidcLogin@${RELEASE.version.split('.')[0]}`);
    expect(login.name).toMatch(/^\w+$/);
    const install = steps.find((s) => s.script?.includes('setup-cli'));
    expect(install?.script).toMatch(/setup-cli\/v\d+\.\d+\.\d+\/install\.sh/);
    expect(steps.indexOf(install ?? {})).toBeLessThan(steps.indexOf(login));
    expect(steps.at(-1)?.script).toContain('databricks bundle deploy');
  });

  it('logs in with the pipeline policy of the walkthrough, and later script steps reach the workspace', async () => {
    const { login } = quickStartPipeline();
    emu = await startEmulators();
    const ado = emu.azureDevOps;
    const template = readmePolicy((p) => p.issuer.includes('vstoken.dev.azure.com'));
    // The reader fills in the placeholders from System.CollectionId and their names.
    const policy: OidcPolicy = JSON.parse(
      JSON.stringify(template)
        .replaceAll('<organization ID>', ado.orgId)
        .replaceAll('<organization>', ado.orgName)
        .replaceAll('<project>', ado.projectName)
        .replaceAll('<pipeline name>', ado.pipelineName),
    );
    expect(policy).toEqual({
      issuer: ado.issuer,
      audiences: ['api://AzureADTokenExchange'],
      subject: ado.pipelineSubject,
    });
    emu.servicePrincipal.policies.splice(0, emu.servicePrincipal.policies.length, policy);

    temp = mkdtempSync(join(tmpdir(), 'agent-temp-'));
    const inputs = Object.fromEntries(
      Object.entries(login.inputs ?? {}).map(([k, v]) => [k, asReader(String(v), emu as Emulators)]),
    );
    const run = await runTask('main', emu, {
      inputs,
      env: agentEndpoints(emu, { includeConnection: false }),
      tempDirectory: temp,
    });
    const pid = Number(run.taskVariables.metadataServicePid);
    if (pid) started.push(pid);
    expect(run.result?.status, run.stdout).toBe('Succeeded');
    expect(run.blocked).toEqual([]);
    expect(await runSdkMe(plainVariables(run))).toMatchObject({
      userName: emu.servicePrincipal.applicationId,
    });
    const post = await runTask('post', emu, { taskVariables: run.taskVariables, tempDirectory: temp });
    expect(post.code).toBe(0);
  });
});
