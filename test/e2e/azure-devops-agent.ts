import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Emulators } from '../emulators/index.ts';
import { ROOT } from './github-runner.ts';
import { runNodeScript, runProcess } from './node-process.ts';
import { trackStartedService } from './started-services.ts';

export const TASK_DIR = join(ROOT, 'azure-devops-extension', 'DatabricksOidcLoginV1');

/** One `##vso[area.action key=value;...]data` logging command. */
export interface VsoCommand {
  name: string;
  properties: Record<string, string>;
  data: string;
  line: number;
}

export interface SetVariable {
  value: string;
  secret: boolean;
  output: boolean;
}

export interface TaskRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Every logging command the task printed, including any the agent would refuse. */
  commands: VsoCommand[];
  /** task.setvariable commands the agent accepts, last one per name wins. */
  variables: Record<string, SetVariable>;
  /** Values registered with task.setsecret, in order. */
  secrets: string[];
  taskVariables: Record<string, string>;
  /** Folders prepended to PATH for later steps (task.prependpath), in order. */
  prependedPaths: string[];
  result: { status: string; message: string } | undefined;
  /** Commands the agent would refuse under task.json `restrictions`, with the agent's warning. */
  blocked: string[];
  durationMs: number;
}

/** The parts of task.json the agent acts on when it runs the task. */
export interface TaskDefinition {
  inputs: Array<{ name: string; defaultValue?: string; aliases?: string[] }>;
  restrictions?: {
    commands?: { mode?: string };
    settableVariables?: { allowed?: string[] };
  };
}

export function taskDefinition(): TaskDefinition {
  return JSON.parse(readFileSync(join(TASK_DIR, 'task.json'), 'utf8')) as TaskDefinition;
}

/**
 * The logging commands the agent still processes for a task in restricted command mode: the
 * classes marked [CommandRestriction(AllowedInRestrictedMode = true)] in microsoft/azure-pipelines-agent
 * src/Agent.Worker/TaskCommandExtension.cs and Telemetry/TelemetryCommandExtension.cs
 * (task.issue is the alias of task.logissue, and what task-lib writes).
 */
export const RESTRICTED_MODE_COMMANDS: ReadonlySet<string> = new Set([
  'task.logdetail',
  'task.logissue',
  'task.issue',
  'task.complete',
  'task.setprogress',
  'task.setsecret',
  'task.setvariable',
  'task.debug',
  'task.settaskvariable',
  'task.prependpath',
  'telemetry.publish',
]);

/** The agent's settableVariables check: case-insensitive glob (`*`, `?`) match against the allowlist. */
export function variableAllowed(name: string, allowed: readonly string[] | undefined): boolean {
  if (!allowed) return true;
  return allowed.some((pattern) => {
    const regex = pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    return new RegExp(`^${regex}$`, 'i').test(name);
  });
}

/**
 * Drops the commands the agent would drop under the task's restrictions, as
 * TaskRestrictionsChecker does: a command outside restricted mode's list, a setvariable whose name
 * is not allowed, and a prependpath unless PATH is allowed. Each drop is a warning on a real agent.
 */
export function applyRestrictions(
  commands: VsoCommand[],
  restrictions: TaskDefinition['restrictions'],
): { kept: VsoCommand[]; blocked: string[] } {
  const kept: VsoCommand[] = [];
  const blocked: string[] = [];
  const allowed = restrictions?.settableVariables?.allowed;
  for (const c of commands) {
    if (restrictions?.commands?.mode === 'restricted' && !RESTRICTED_MODE_COMMANDS.has(c.name)) {
      blocked.push(`command ${c.name} is not allowed in restricted mode`);
    } else if (c.name === 'task.setvariable' && !variableAllowed(c.properties.variable ?? '', allowed)) {
      blocked.push(`variable ${c.properties.variable} may not be set (settableVariables)`);
    } else if (c.name === 'task.prependpath' && !variableAllowed('PATH', allowed)) {
      blocked.push('task.prependpath needs PATH in settableVariables');
    } else kept.push(c);
  }
  return { kept, blocked };
}

/**
 * Input names as the task sees them: Azure DevOps maps an alias used in YAML (e.g.
 * azureServiceConnection) to the input's own name (azureSubscription) before the agent sets INPUT_*.
 */
export function canonicalInputs(
  inputs: Record<string, string>,
  definition: TaskDefinition = taskDefinition(),
): Record<string, string> {
  const byAlias = new Map<string, string>();
  for (const input of definition.inputs) {
    for (const alias of input.aliases ?? []) byAlias.set(alias.toLowerCase(), input.name);
  }
  return Object.fromEntries(
    Object.entries(inputs).map(([name, value]) => [byAlias.get(name.toLowerCase()) ?? name, value]),
  );
}

function unescapeVso(text: string): string {
  return text
    .replace(/%3B/g, ';')
    .replace(/%0D/g, '\r')
    .replace(/%0A/g, '\n')
    .replace(/%5D/g, ']')
    .replace(/%25/g, '%');
}

/** Parses the logging commands a task printed, as the agent does. */
export function parseVsoCommands(stdout: string): VsoCommand[] {
  const commands: VsoCommand[] = [];
  stdout.split(/\r?\n/).forEach((text, line) => {
    const match = /^##vso\[([\w.]+)([^\]]*)\](.*)$/.exec(text);
    if (!match) return;
    const properties: Record<string, string> = {};
    for (const part of (match[2] ?? '').trim().split(';')) {
      const at = part.indexOf('=');
      if (at > 0) properties[part.slice(0, at).trim().toLowerCase()] = unescapeVso(part.slice(at + 1));
    }
    commands.push({ name: match[1] ?? '', properties, data: unescapeVso(match[3] ?? ''), line });
  });
  return commands;
}

/** INPUT_* for every input with a default in task.json, as the agent sets them. */
export function taskDefaults(): Record<string, string> {
  const task = taskDefinition();
  return Object.fromEntries(
    task.inputs
      .filter((i) => i.defaultValue !== undefined)
      .map((i) => [`INPUT_${i.name.toUpperCase()}`, i.defaultValue ?? '']),
  );
}

/** The endpoint variables the agent gives a task: SYSTEMVSSCONNECTION, and the service connection. */
export function agentEndpoints(
  emu: Emulators,
  options: {
    scheme?: string;
    includeConnection?: boolean;
    jobToken?: string | undefined;
    /** The connection's activeDirectoryAuthority; default the Entra emulator's root. */
    authority?: string;
  } = {},
): Record<string, string> {
  const token = options.jobToken ?? emu.azureDevOps.jobAccessToken;
  const env: Record<string, string> = {
    ENDPOINT_URL_SYSTEMVSSCONNECTION: emu.azureDevOps.collectionUri,
    ENDPOINT_AUTH_SYSTEMVSSCONNECTION: JSON.stringify({
      parameters: { AccessToken: token },
      scheme: 'OAuth',
    }),
    ENDPOINT_AUTH_SCHEME_SYSTEMVSSCONNECTION: 'OAuth',
    ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN: token,
  };
  if (options.includeConnection !== false) {
    const id = emu.serviceConnection.id;
    const scheme = options.scheme ?? 'WorkloadIdentityFederation';
    const parameters = {
      tenantid: emu.entra.tenantId,
      serviceprincipalid: emu.servicePrincipal.applicationId,
    };
    Object.assign(env, {
      [`ENDPOINT_URL_${id}`]: 'https://management.azure.com/',
      [`ENDPOINT_AUTH_${id}`]: JSON.stringify({ parameters, scheme }),
      [`ENDPOINT_AUTH_SCHEME_${id}`]: scheme,
      [`ENDPOINT_AUTH_PARAMETER_${id}_TENANTID`]: parameters.tenantid,
      [`ENDPOINT_AUTH_PARAMETER_${id}_SERVICEPRINCIPALID`]: parameters.serviceprincipalid,
      [`ENDPOINT_DATA_${id}_ACTIVEDIRECTORYAUTHORITY`]: options.authority ?? `${emu.entra.url}/`,
      [`ENDPOINT_DATA_${id}_ENVIRONMENT`]: 'AzureCloud',
    });
  }
  return env;
}

export interface TaskOptions {
  inputs?: Record<string, string>;
  env?: Record<string, string>;
  /** Agent.TempDirectory; default: a fresh folder, removed afterwards. */
  tempDirectory?: string;
  taskVariables?: Record<string, string>;
  timeoutMs?: number;
}

/** Runs the bundled task (main.js or post.js) with the environment the agent gives a Node task. */
export async function runTask(
  entry: 'main' | 'post',
  emu: Emulators,
  options: TaskOptions = {},
): Promise<TaskRun> {
  const ownTemp = options.tempDirectory ? undefined : mkdtempSync(join(tmpdir(), 'agent-temp-'));
  const temp = options.tempDirectory ?? ownTemp ?? '';
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: temp,
    AGENT_VERSION: '4.250.0',
    AGENT_TEMPDIRECTORY: temp,
    TF_BUILD: 'True',
    ...emu.azureDevOps.systemEnv,
    ...taskDefaults(),
    ...Object.fromEntries(
      Object.entries(canonicalInputs(options.inputs ?? {})).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]),
    ),
    ...Object.fromEntries(
      Object.entries(options.taskVariables ?? {}).map(([k, v]) => [
        `VSTS_TASKVARIABLE_${k.toUpperCase()}`,
        v,
      ]),
    ),
    ...options.env,
  };
  const started = Date.now();
  try {
    const { code, stdout, stderr } = await runNodeScript(join(TASK_DIR, `${entry}.js`), env, {
      cwd: temp,
      timeoutMs: options.timeoutMs ?? 30_000,
    });
    // The agent acts only on the commands the task's restrictions allow; the rest become warnings.
    const printed = parseVsoCommands(stdout);
    const { kept: commands, blocked } = applyRestrictions(printed, taskDefinition().restrictions);
    const variables: Record<string, SetVariable> = {};
    const taskVariables: Record<string, string> = {};
    for (const c of commands) {
      if (c.name === 'task.setvariable') {
        variables[c.properties.variable ?? ''] = {
          value: c.data,
          secret: c.properties.issecret === 'true',
          output: c.properties.isoutput === 'true',
        };
      }
      if (c.name === 'task.settaskvariable') taskVariables[c.properties.variable ?? ''] = c.data;
    }
    trackStartedService(taskVariables.metadataServicePid, taskVariables.metadataServiceUrl);
    const complete = commands.filter((c) => c.name === 'task.complete').at(-1);
    return {
      code,
      stdout,
      stderr,
      commands: printed,
      variables,
      secrets: commands.filter((c) => c.name === 'task.setsecret').map((c) => c.data),
      taskVariables,
      prependedPaths: commands.filter((c) => c.name === 'task.prependpath').map((c) => c.data),
      result: complete ? { status: complete.properties.result ?? '', message: complete.data } : undefined,
      blocked,
      durationMs: Date.now() - started,
    };
  } finally {
    if (ownTemp) rmSync(ownTemp, { recursive: true, force: true });
  }
}

/** The plain (non-secret, non-output) variables: what a later script step gets as environment. */
export function plainVariables(run: TaskRun): Record<string, string> {
  return Object.fromEntries(
    Object.entries(run.variables)
      .filter(([, v]) => !v.secret && !v.output)
      .map(([name, v]) => [name, v.value]),
  );
}

/**
 * True when `secret` was registered with task.setsecret before any other line showed it, and
 * no line shows it except logging commands the agent consumes (setsecret, secret setvariable).
 */
export function maskedBeforeUse(run: TaskRun, secret: string): boolean {
  const lines = run.stdout.split(/\r?\n/);
  const maskLine = lines.indexOf(`##vso[task.setsecret]${secret}`);
  if (maskLine < 0) return false;
  return (
    lines.every(
      (l, i) =>
        !l.includes(secret) ||
        i === maskLine ||
        (i > maskLine && /^##vso\[task\.(setvariable|settaskvariable|setsecret|debug)/.test(l)),
    ) && !run.stderr.includes(secret)
  );
}

/**
 * Runs a shell command as a later `script:` step of the same job would: the plain variables as
 * environment, and PATH with the prepended folders (the latest first) before the agent's own.
 */
export async function runLaterScriptStep(
  run: TaskRun,
  script: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const home = mkdtempSync(join(tmpdir(), 'later-script-'));
  try {
    const path = [...run.prependedPaths]
      .reverse()
      .concat(process.env.PATH ?? '/usr/bin:/bin')
      .join(':');
    return await runProcess('sh', ['-c', script], { ...plainVariables(run), HOME: home, PATH: path });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
