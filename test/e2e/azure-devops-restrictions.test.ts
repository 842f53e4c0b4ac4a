import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stopMetadataService } from '../../packages/core/src/index.ts';
import { type Emulators, startEmulators } from '../emulators/index.ts';
import {
  agentEndpoints,
  applyRestrictions,
  parseVsoCommands,
  runTask,
  type TaskRun,
  taskDefinition,
} from './azure-devops-agent.ts';
import { ROOT } from './github-runner.ts';

// Microsoft recommends that new tasks declare `restrictions`: the agent then processes only a
// short list of logging commands from the task, and sets only the variables on the allowlist.
// These tests keep the allowlist equal to what the task code sets, and run the built task under
// its own restrictions (the harness drops what the agent would drop) to show that nothing it
// needs is refused.

const SOURCES = join(ROOT, 'packages/azure-devops-task/src');
const definition = taskDefinition();
const allowlist = definition.restrictions?.settableVariables?.allowed ?? [];

/** Every variable name the task sources set: setVariable('NAME', ...) and prependPath (PATH). */
function variablesSetBySources(): { names: Set<string>; problems: string[] } {
  const names = new Set<string>();
  const problems: string[] = [];
  for (const file of readdirSync(SOURCES, { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith('.ts'),
  )) {
    const text = readFileSync(join(SOURCES, file), 'utf8');
    for (const call of text.matchAll(/\bsetVariable\(\s*([^,)]*)/g)) {
      const literal = /^'([^']+)'$|^"([^"]+)"$/.exec(call[1]?.trim() ?? '');
      const line = text.slice(0, call.index).split('\n').length;
      if (literal) names.add(literal[1] ?? literal[2] ?? '');
      else
        problems.push(
          `${file}:${line} sets a variable whose name is not a string literal (${call[1]}): name it literally, so that this test can check task.json restrictions.settableVariables`,
        );
    }
    if (/\bprependPath\(/.test(text)) names.add('PATH');
  }
  return { names, problems };
}

describe('task.json restrictions', () => {
  it('restricts the logging commands, as Microsoft recommends for new tasks', () => {
    expect(definition.restrictions?.commands?.mode).toBe('restricted');
  });

  it('allows exactly the variables the task sources set, output variables included', () => {
    const { names, problems } = variablesSetBySources();
    expect(problems).toEqual([]);
    expect(names.size).toBeGreaterThan(5);
    const missing = [...names].filter((n) => !allowlist.includes(n));
    const unused = allowlist.filter((n) => !names.has(n));
    expect(
      { missingFromAllowlist: missing, allowedButNeverSet: unused },
      'task.json restrictions.settableVariables.allowed must list exactly the variables the task sets',
    ).toEqual({ missingFromAllowlist: [], allowedButNeverSet: [] });
    for (const output of ['host', 'expiresAt', 'principal']) expect(allowlist).toContain(output);
  });

  it('is enforced by the test agent as the real agent enforces it', () => {
    const stdout = [
      '##vso[task.setvariable variable=DATABRICKS_HOST]https://x',
      '##vso[task.setvariable variable=SOMETHING_ELSE]y',
      '##vso[task.uploadfile]/etc/passwd',
      '##vso[artifact.upload artifactname=a]/tmp/a',
      '##vso[task.prependpath]/tmp/bin',
      '##vso[task.issue type=warning]fine',
      '##vso[task.complete result=Succeeded]done',
    ].join('\n');
    const { kept, blocked } = applyRestrictions(parseVsoCommands(stdout), {
      commands: { mode: 'restricted' },
      settableVariables: { allowed: ['databricks_host'] },
    });
    expect(kept.map((c) => c.name)).toEqual(['task.setvariable', 'task.issue', 'task.complete']);
    expect(blocked).toEqual([
      'variable SOMETHING_ELSE may not be set (settableVariables)',
      'command task.uploadfile is not allowed in restricted mode',
      'command artifact.upload is not allowed in restricted mode',
      'task.prependpath needs PATH in settableVariables',
    ]);
  });
});

describe('the built task under its own restrictions', () => {
  let emu: Emulators;
  let temp: string;
  const started: number[] = [];

  beforeEach(async () => {
    emu = await startEmulators();
    temp = mkdtempSync(join(tmpdir(), 'agent-temp-'));
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((pid) => stopMetadataService(pid)));
    await emu.stop();
    rmSync(temp, { recursive: true, force: true });
  });

  function expectNothingBlocked(run: TaskRun): void {
    expect(run.blocked, run.stdout).toEqual([]);
    for (const name of Object.keys(run.variables)) expect(allowlist).toContain(name);
  }

  it('loses no command in mode token, for an account token, in mode refresh, or when it fails', async () => {
    const token = await runTask('main', emu, {
      inputs: { host: emu.databricks.url, clientId: emu.servicePrincipal.applicationId, mode: 'token' },
      env: agentEndpoints(emu, { includeConnection: false }),
      tempDirectory: temp,
    });
    expect(token.result?.status).toBe('Succeeded');
    expectNothingBlocked(token);
    expect(Object.keys(token.taskVariables)).toContain('configFile'); // settaskvariable is allowed
    expectNothingBlocked(
      await runTask('post', emu, { taskVariables: token.taskVariables, tempDirectory: temp }),
    );

    const policy = emu.servicePrincipal.policies[1];
    if (!policy) throw new Error('the emulator lacks policies[1]');
    policy.audiences = ['api://AzureADTokenExchange'];
    const account = await runTask('main', emu, {
      inputs: {
        clientId: emu.servicePrincipal.applicationId,
        accountId: emu.databricks.accountId,
        mode: 'token',
      },
      env: { ...agentEndpoints(emu, { includeConnection: false }), DATABRICKS_HOST: emu.databricks.url },
      tempDirectory: temp,
    });
    expect(account.variables.DATABRICKS_ACCOUNT_ID?.value).toBe(emu.databricks.accountId);
    expectNothingBlocked(account);

    const refresh = await runTask('main', emu, {
      inputs: { host: emu.databricks.url, clientId: emu.servicePrincipal.applicationId, mode: 'refresh' },
      env: agentEndpoints(emu, { includeConnection: false }),
      tempDirectory: temp,
    });
    const pid = Number(refresh.taskVariables.metadataServicePid);
    if (pid) started.push(pid);
    expect(refresh.result?.status).toBe('Succeeded');
    expect(refresh.variables.DATABRICKS_METADATA_SERVICE_URL?.value).toMatch(/^http:\/\/127\.0\.0\.1:/);
    expectNothingBlocked(refresh);
    expectNothingBlocked(
      await runTask('post', emu, { taskVariables: refresh.taskVariables, tempDirectory: temp }),
    );

    const failed = await runTask('main', emu, {
      inputs: { host: 'http://example.com' },
      env: agentEndpoints(emu, { includeConnection: false }),
      tempDirectory: temp,
    });
    expect(failed.result?.status).toBe('Failed');
    expectNothingBlocked(failed);
  });

  it('takes the service connection under its YAML alias azureServiceConnection', async () => {
    const run = await runTask('main', emu, {
      inputs: {
        host: emu.databricks.url,
        tokenSource: 'serviceConnection',
        provider: 'azure',
        azureServiceConnection: emu.serviceConnection.id,
        mode: 'token',
      },
      env: agentEndpoints(emu),
      tempDirectory: temp,
    });
    expect(run.result?.status).toBe('Succeeded');
    expect(emu.entra.requestsTo(`/${emu.entra.tenantId}/oauth2/v2.0/token`)).toHaveLength(1);
    expectNothingBlocked(run);
  });
});
