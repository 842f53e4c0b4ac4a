import { githubIdTokenSource, serveMetadataService } from '@databricks-oidc-login/core';

// The detached metadata service of mode refresh. It inherits the job's ACTIONS_ID_TOKEN_REQUEST_*
// variables, so each refresh fetches a fresh GitHub ID token.
serveMetadataService(() =>
  githubIdTokenSource(process.env.ACTIONS_ID_TOKEN_REQUEST_URL, process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN),
);
