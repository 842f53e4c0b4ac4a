import type { AzureDevOpsJob } from '@databricks-oidc-login/core';

/**
 * What the metadata service needs to fetch fresh Azure DevOps tokens. It travels over IPC:
 * task-lib removes the job token from the environment, so the service cannot inherit it.
 */
export interface AzureDevOpsSourcePayload {
  job: AzureDevOpsJob;
  accessToken: string | undefined;
  connection: { id: string; name: string } | undefined;
}
