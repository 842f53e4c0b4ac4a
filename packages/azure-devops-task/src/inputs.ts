import {
  AUTH_TYPES,
  type AuthType,
  type AzureDevOpsJob,
  type CredentialInputNames,
  LoginError,
  type MetadataServiceSettings,
  readBooleanInput,
  readChoice,
  readProfileName,
  readServiceLifetime,
  readTimeoutSeconds,
} from '@databricks-oidc-login/core';
import * as taskLibInternals from 'azure-pipelines-task-lib/internal.js';
import * as tl from 'azure-pipelines-task-lib/task.js';

/** How this task spells the credential inputs, for the core's messages. */
export const TASK_INPUT_NAMES: CredentialInputNames = {
  authType: 'authType',
  clientId: 'clientId',
  clientSecret: 'clientSecret',
  pat: 'pat',
  workspaceId: 'workspaceId',
};

/** What the service-connection side of the task resolved to. */
export interface ServiceConnectionIdentity {
  id: string;
  name: string;
  tenantId: string;
  clientId: string;
  authorityHost: string | undefined;
}

export interface TaskInputs {
  /** What login() and the metadata service need, from inputs and the service connection. */
  settings: MetadataServiceSettings;
  tokenSource: 'pipeline' | 'serviceConnection';
  mode: 'token' | 'refresh';
  authType: AuthType;
  /** Secrets: login() masks them first; the metadata service gets the client secret over IPC only. */
  clientSecret: string;
  pat: string;
  /** Mode refresh: the metadata service's safety lifetime. */
  serviceLifetimeMs: number;
  verify: boolean;
  connection: ServiceConnectionIdentity | undefined;
  job: AzureDevOpsJob;
  accessToken: string | undefined;
  /** A config profile name for tools that name one; undefined for none. */
  profile: string | undefined;
}

/** An input or variable, with an unexpanded `$(...)` macro counting as empty. */
function text(value: string | undefined): string {
  const v = (value ?? '').trim();
  return /^\$\([^)]*\)$/.test(v) ? '' : v;
}

/** A task input, with an unexpanded macro counting as empty. */
function input(name: string): string {
  return text(tl.getInput(name, false));
}

/**
 * A secret input, read from task-lib's vault directly: tl.getInput echoes every value in a
 * debug line, before the value could be registered with task.setsecret.
 */
function secretInput(name: string): string {
  return text(taskLibInternals._vault.retrieveSecret(`INPUT_${taskLibInternals._getVariableKey(name)}`));
}

/** Reads the AzureRM workload-identity service connection named by azureSubscription. */
function readServiceConnection(id: string): ServiceConnectionIdentity {
  const scheme = tl.getEndpointAuthorizationScheme(id, true);
  if (!scheme) {
    throw new LoginError(
      'INPUT_INVALID',
      `Failed to read the service connection ${id}: it does not exist, or this pipeline may not use it`,
      {
        hint: 'Set azureSubscription to an Azure Resource Manager service connection of this project, and authorise the pipeline to use it (Project settings > Service connections > Security).',
      },
    );
  }
  if (scheme.toLowerCase() !== 'workloadidentityfederation') {
    throw new LoginError(
      'INPUT_INVALID',
      `Failed to use the service connection ${id}: its scheme is ${scheme}, not WorkloadIdentityFederation`,
      {
        hint: 'Use an Azure Resource Manager service connection with workload identity federation (convert it in Project settings > Service connections), or tokenSource: pipeline.',
      },
    );
  }
  const tenantId = tl.getEndpointAuthorizationParameter(id, 'tenantid', true) ?? '';
  const clientId = tl.getEndpointAuthorizationParameter(id, 'serviceprincipalid', true) ?? '';
  if (!tenantId || !clientId) {
    throw new LoginError(
      'INPUT_INVALID',
      `Failed to use the service connection ${id}: it has no tenant ID or service principal ID`,
      {
        hint: 'Edit the service connection so that it names its tenant and app registration, or recreate it.',
      },
    );
  }
  const authority = text(tl.getEndpointDataParameter(id, 'activeDirectoryAuthority', true));
  return { id, name: id, tenantId, clientId, authorityHost: authority || undefined };
}

/** Reads the task's inputs, endpoints and System.* variables into one plain object. */
export function readTaskInputs(): TaskInputs {
  const tokenSource = readChoice(
    'tokenSource',
    input('tokenSource'),
    ['pipeline', 'serviceConnection'] as const,
    'pipeline',
  );
  const provider = readChoice(
    'provider',
    input('provider'),
    ['databricks', 'azure', 'google'] as const,
    'databricks',
  );
  const mode = readChoice('mode', input('mode'), ['token', 'refresh'] as const, 'refresh');
  const authType = readChoice('authType', input('authType'), AUTH_TYPES, 'auto');
  const serviceLifetimeMs = readServiceLifetime('serviceLifetimeMinutes', input('serviceLifetimeMinutes'));
  const verify = readBooleanInput('verify', input('verify'), true);
  const timeoutMs = readTimeoutSeconds('timeoutSeconds', input('timeoutSeconds'));
  const connectionId = input('azureSubscription');
  let connection: ServiceConnectionIdentity | undefined;
  if (tokenSource === 'serviceConnection' || provider === 'azure') {
    if (!connectionId) {
      throw new LoginError(
        'INPUT_INVALID',
        `Failed to read input azureSubscription: ${tokenSource === 'serviceConnection' ? 'tokenSource serviceConnection' : 'provider azure'} needs a service connection`,
        {
          hint: 'Set azureSubscription to an Azure Resource Manager service connection that uses workload identity federation.',
        },
      );
    }
    connection = readServiceConnection(connectionId);
  }
  return {
    settings: {
      host: input('host') || text(tl.getVariable('DATABRICKS_HOST')),
      clientId: input('clientId') || (provider === 'azure' ? connection?.clientId : undefined),
      accountId: input('accountId'),
      workspaceId: input('workspaceId') || text(tl.getVariable('DATABRICKS_WORKSPACE_ID')),
      provider,
      tenantId: connection?.tenantId,
      authorityHost: connection?.authorityHost,
      workloadIdentityProvider: input('workloadIdentityProvider'),
      serviceAccount: input('serviceAccount'),
      timeoutMs,
    },
    tokenSource,
    mode,
    authType,
    clientSecret: secretInput('clientSecret'),
    pat: secretInput('pat'),
    serviceLifetimeMs,
    verify,
    connection,
    job: {
      oidcRequestUri: text(tl.getVariable('System.OidcRequestUri')) || undefined,
      collectionUri:
        text(tl.getVariable('System.CollectionUri')) ||
        text(tl.getVariable('System.TeamFoundationCollectionUri')),
      projectId: text(tl.getVariable('System.TeamProjectId')),
      hostType: text(tl.getVariable('System.HostType')),
      planId: text(tl.getVariable('System.PlanId')),
      jobId: text(tl.getVariable('System.JobId')),
    },
    // Not getEndpointAuthorizationParameter: that one echoes the value in a debug line.
    accessToken: tl.getEndpointAuthorization('SYSTEMVSSCONNECTION', true)?.parameters?.AccessToken,
    profile: readProfileName('profile', input('profile')),
  };
}
