import { describeUrl, parseJsonObject } from '../net/http.ts';
import { LoginError } from '../safe-output/errors.ts';
import { excerpt } from '../safe-output/server-answer.ts';
import type { IdTokenSource } from './id-token-source.ts';

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
