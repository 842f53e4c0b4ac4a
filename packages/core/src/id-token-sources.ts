import { readFile } from 'node:fs/promises';
import { excerpt } from './credential.ts';
import { LoginError } from './errors.ts';
import { describeUrl, type HttpClient, parseJsonObject } from './http.ts';

/** Anything that can hand us the CI job's OIDC ID token for an audience. */
export interface IdTokenSource {
  /** For people: "GitHub Actions", "the file /var/run/secrets/token". */
  readonly description: string;
  /** Some sources (Azure DevOps) fix the audience; login uses it instead of resolving one. */
  readonly fixedAudience?: string | undefined;
  getIdToken(audience: string, http: HttpClient): Promise<string>;
}

const MISSING_GITHUB_VARIABLES_HINT =
  'Add `permissions: id-token: write` to the workflow or job (with `contents: read` if you check out code). ' +
  'GitHub gives no ID token to pull requests from forks or to Dependabot runs: run this step on push, ' +
  'pull_request_target with care, or a trusted environment instead.';

/**
 * GitHub Actions: `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=...` with the request token.
 * Throws at once, before any request, when the runner gave the job no ID-token variables.
 */
export function githubIdTokenSource(
  requestUrl: string | undefined,
  requestToken: string | undefined,
): IdTokenSource {
  if (!requestUrl || !requestToken) {
    const missing = [
      !requestUrl && 'ACTIONS_ID_TOKEN_REQUEST_URL',
      !requestToken && 'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
    ]
      .filter(Boolean)
      .join(' and ');
    throw new LoginError(
      'ID_TOKEN_UNAVAILABLE',
      `Failed to get an ID token from GitHub Actions: ${missing} ${missing.includes(' and ') ? 'are' : 'is'} not set, so this job may not request one`,
      { hint: MISSING_GITHUB_VARIABLES_HINT },
    );
  }
  return {
    description: 'GitHub Actions',
    async getIdToken(audience, http) {
      const url = new URL(requestUrl);
      url.searchParams.set('audience', audience);
      const step = 'get an ID token from GitHub Actions';
      const response = await http.send({
        method: 'GET',
        url: url.href,
        step,
        headers: { authorization: `Bearer ${requestToken}` },
      });
      if (response.status === 401 || response.status === 403) {
        throw new LoginError(
          'ID_TOKEN_REQUEST_FAILED',
          `Failed to ${step}: the runner refused the request (HTTP ${response.status})`,
          {
            hint: MISSING_GITHUB_VARIABLES_HINT,
          },
        );
      }
      const value = response.status === 200 ? parseJsonObject(response.body)?.value : undefined;
      if (typeof value !== 'string' || value === '') {
        throw new LoginError(
          response.status === 200 ? 'RESPONSE_MALFORMED' : 'ID_TOKEN_REQUEST_FAILED',
          `Failed to ${step}: ${describeUrl(url.href)} answered HTTP ${response.status} without a token`,
          {
            hint: 'This is a problem on the GitHub side; re-run the job. If it persists, check githubstatus.com.',
          },
        );
      }
      return value;
    },
  };
}

/** A token in an environment variable, e.g. GitLab `id_tokens` or a token minted by an earlier step. */
export function environmentIdTokenSource(name: string, env: NodeJS.ProcessEnv = process.env): IdTokenSource {
  return {
    description: `the environment variable ${name}`,
    async getIdToken() {
      const value = env[name]?.trim();
      if (!value) {
        throw new LoginError(
          'ID_TOKEN_UNAVAILABLE',
          `Failed to get an ID token: the environment variable ${name} is empty`,
          {
            hint: `Set ${name} to the job's OIDC ID token.`,
          },
        );
      }
      return value;
    },
  };
}

/** A token in a file, re-read on every call: Kubernetes projected tokens rotate in place. */
export function fileIdTokenSource(path: string): IdTokenSource {
  return {
    description: `the file ${path}`,
    async getIdToken() {
      let value: string;
      try {
        value = (await readFile(path, 'utf8')).trim();
      } catch (error) {
        throw new LoginError(
          'ID_TOKEN_UNAVAILABLE',
          `Failed to get an ID token: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
          {
            hint: `Check that ${path} exists and is readable by the job.`,
          },
        );
      }
      if (!value) {
        throw new LoginError('ID_TOKEN_UNAVAILABLE', `Failed to get an ID token: ${path} is empty`, {
          hint: `Check what writes ${path}.`,
        });
      }
      return value;
    },
  };
}

/** Where an Azure DevOps job asks for OIDC tokens: the System.* variables of the job. */
export interface AzureDevOpsJob {
  /** System.OidcRequestUri, when the agent provides it; otherwise built from the parts below. */
  oidcRequestUri?: string | undefined;
  collectionUri?: string | undefined;
  projectId?: string | undefined;
  hostType?: string | undefined;
  planId?: string | undefined;
  jobId?: string | undefined;
}

/** The audience Azure DevOps always puts in its OIDC tokens. */
export const AZURE_DEVOPS_AUDIENCE = 'api://AzureADTokenExchange';

/** `POST {collectionUri}{projectId}/_apis/distributedtask/hubs/{hostType}/plans/{planId}/jobs/{jobId}/oidctoken`. */
export function azureDevOpsOidcTokenUrl(
  job: AzureDevOpsJob,
  serviceConnectionId?: string,
): string | undefined {
  let base = job.oidcRequestUri;
  if (!base) {
    const { collectionUri, projectId, hostType, planId, jobId } = job;
    if (!collectionUri || !projectId || !hostType || !planId || !jobId) return undefined;
    const root = collectionUri.endsWith('/') ? collectionUri : `${collectionUri}/`;
    base = `${root}${projectId}/_apis/distributedtask/hubs/${hostType}/plans/${planId}/jobs/${jobId}/oidctoken`;
  }
  const url = new URL(base);
  if (!url.searchParams.has('api-version')) url.searchParams.set('api-version', '7.1');
  if (serviceConnectionId) url.searchParams.set('serviceConnectionId', serviceConnectionId);
  return url.href;
}

/**
 * Azure DevOps: the pipeline's own OIDC token (subject `p://org/project/pipeline`), or a
 * service connection's (`sc://...` or an Entra-issued subject) when `serviceConnection` is set.
 * The job's access token authorises the request. Throws before any request when it is missing.
 */
export function azureDevOpsIdTokenSource(
  job: AzureDevOpsJob,
  accessToken: string | undefined,
  serviceConnection?: { id: string; name: string } | undefined,
): IdTokenSource {
  const url = azureDevOpsOidcTokenUrl(job, serviceConnection?.id);
  if (!url || !accessToken) {
    throw new LoginError(
      'ID_TOKEN_UNAVAILABLE',
      `Failed to get an ID token from Azure DevOps: ${!accessToken ? 'the job access token (SYSTEMVSSCONNECTION) is missing' : 'the System.* variables that locate the job are missing'}`,
      {
        hint: 'Run this task as a step of an Azure Pipelines job on agent 3.x or later; the agent provides the job token and System.* variables to every task.',
      },
    );
  }
  const what = serviceConnection ? `the service connection ${serviceConnection.name}` : 'the pipeline';
  return {
    description: `Azure DevOps (${what})`,
    fixedAudience: AZURE_DEVOPS_AUDIENCE,
    async getIdToken(_audience, http) {
      const step = `get an ID token for ${what} from Azure DevOps`;
      const response = await http.send({
        method: 'POST',
        url,
        step,
        headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
        body: '{}',
      });
      if (
        response.status === 401 ||
        response.status === 403 ||
        (serviceConnection && (response.status === 400 || response.status === 404))
      ) {
        const says = parseJsonObject(response.body)?.message;
        throw new LoginError(
          'ID_TOKEN_REQUEST_FAILED',
          `Failed to ${step}: Azure DevOps refused (HTTP ${response.status}${typeof says === 'string' ? `: ${excerpt(says)}` : ''})`,
          {
            hint: serviceConnection
              ? `Check that the service connection ${serviceConnection.name} exists in this project, uses workload identity federation, and is authorised for this pipeline (Project settings > Service connections > Security).`
              : 'The job access token was refused: check the project\'s "Limit job authorization scope" settings and that the pipeline may use its own identity.',
          },
        );
      }
      const value = response.status === 200 ? parseJsonObject(response.body)?.oidcToken : undefined;
      if (typeof value !== 'string' || value === '') {
        throw new LoginError(
          response.status === 200 ? 'RESPONSE_MALFORMED' : 'ID_TOKEN_REQUEST_FAILED',
          `Failed to ${step}: ${describeUrl(url)} answered HTTP ${response.status} without an oidcToken`,
          { hint: 'Re-run the job; if it persists, check status.dev.azure.com.' },
        );
      }
      return value;
    },
  };
}
