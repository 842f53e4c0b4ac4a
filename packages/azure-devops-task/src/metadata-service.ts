import { azureDevOpsIdTokenSource, serveMetadataService } from '@databricks-oidc-login/core';
import type { AzureDevOpsSourcePayload } from './source-payload.ts';

// The detached metadata service of mode refresh. It must not import azure-pipelines-task-lib.
serveMetadataService((payload, secrets) => {
  const source = payload as AzureDevOpsSourcePayload;
  secrets.register(source.accessToken);
  return azureDevOpsIdTokenSource(source.job, source.accessToken, source.connection);
});
