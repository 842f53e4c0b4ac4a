import { githubIdTokenSource, serveMetadataService } from '@databricks-oidc-login/core';

/** What the service needs to fetch fresh GitHub ID tokens; it comes over IPC, never through env. */
export interface GitHubSourcePayload {
  requestUrl: string | undefined;
  requestToken: string | undefined;
}

// The detached metadata service of mode refresh. Its environment holds no job token: the
// ID-token request URL and token come in the handoff, so each refresh gets a fresh ID token.
serveMetadataService((payload, secrets) => {
  const source = payload as GitHubSourcePayload;
  secrets.register(source.requestToken);
  return githubIdTokenSource(source.requestUrl, source.requestToken);
});
