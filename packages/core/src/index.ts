/** The exchange core: no CI library in here; adapters call `login()` and export the result. */
export { type AudienceQuery, ENTRA_AUDIENCE, type ResolvedAudience, resolveAudience } from './audience.ts';
export type { Credential } from './exchange/credential.ts';
export { databricksTokenEndpoint, exchangeForDatabricksToken } from './exchange/databricks.ts';
export { AZURE_DATABRICKS_SCOPE, entraTokenEndpoint, exchangeWithEntra } from './exchange/entra.ts';
export { verifyWorkspaceToken } from './exchange/verify.ts';
export { decodeIdToken, describeClaims, describeDuration, type IdTokenClaims } from './explain/claims.ts';
export { describeFailure, LoginError, type LoginErrorCode, TROUBLESHOOTING_URL } from './explain/errors.ts';
export { federationPolicyHint } from './explain/federation-policy-hint.ts';
export { describeIdTokenReport, type IdTokenReport } from './explain/id-token-report.ts';
export { type Logger, redactingLogger, silentLogger } from './explain/logger.ts';
export { hasControlCharacters, printableLine } from './explain/printable.ts';
export { redactCredentialShapes, SecretRegistry } from './explain/redaction.ts';
export { authorizedFetch } from './library/authorized-fetch.ts';
export {
  type DatabricksSqlToken,
  type DatabricksSqlTokenProvider,
  databricksSqlTokenProvider,
} from './library/databricks-sql.ts';
export {
  createTokenProvider,
  type DatabricksTokenProvider,
  type TokenProviderOptions,
} from './library/token-provider.ts';
export {
  setUpWorkloadLogin,
  type WorkloadLogin,
  type WorkloadSettings,
} from './library/workload-settings.ts';
export {
  type AuthType,
  httpForOneLogin,
  type LoginContext,
  type LoginOptions,
  type LoginPlan,
  type LoginResult,
  login,
  obtainCredential,
  type Provider,
  planLogin,
} from './login.ts';
export { assertPrintable, isLoopbackHostname, normalizeHost, normalizeUuid } from './net/host.ts';
export {
  HttpClient,
  type HttpRequest,
  type HttpResponse,
  type HttpSettings,
  parseRetryAfter,
} from './net/http.ts';
export { type FreshLogin, loginAndKeepFresh, loginAndServe, type ServeOptions } from './serve/keep-fresh.ts';
export {
  METADATA_SERVICE_MAX_LIFETIME_MS,
  type MetadataServer,
  startMetadataServer,
} from './serve/metadata-server.ts';
export {
  isProcessAlive,
  launchMetadataService,
  type MetadataServiceLaunch,
  type MetadataServiceSettings,
  type RunningMetadataService,
  serveMetadataService,
  stopMetadataService,
} from './serve/metadata-service-process.ts';
export { TokenProvider } from './serve/token-provider.ts';
export {
  AZURE_DEVOPS_AUDIENCE,
  type AzureDevOpsJob,
  azureDevOpsIdTokenSource,
  azureDevOpsOidcTokenUrl,
} from './sources/azure-devops.ts';
export {
  type AzureWorkloadIdentity,
  azureWorkloadIdentityIdTokenSource,
  readAzureWorkloadIdentity,
} from './sources/azure-workload-identity.ts';
export { bitbucketIdTokenSource } from './sources/bitbucket.ts';
export { buildkiteIdTokenSource } from './sources/buildkite.ts';
export {
  type ChosenSource,
  chooseIdTokenSource,
  DEFAULT_TOKEN_VARIABLE,
  TOKEN_SOURCE_NAMES,
  type TokenSourceName,
  type TokenSourceSettings,
} from './sources/choose-source.ts';
export { circleciIdTokenSource } from './sources/circleci.ts';
export type { SourceTraits } from './sources/environment.ts';
export { environmentIdTokenSource } from './sources/environment.ts';
export { fileIdTokenSource } from './sources/file.ts';
export { gcpMetadataIdTokenSource } from './sources/gcp-metadata.ts';
export { githubIdTokenSource } from './sources/github.ts';
export { gitlabIdTokenSource } from './sources/gitlab.ts';
export type { IdTokenSource } from './sources/id-token-source.ts';
export { kubernetesIdTokenSource, SERVICE_ACCOUNT_DIR } from './sources/kubernetes.ts';
export {
  type KubernetesTokenRequestOptions,
  kubernetesTokenRequestIdTokenSource,
} from './sources/kubernetes-token-request.ts';
export { terraformCloudIdTokenSource } from './sources/terraform-cloud.ts';
export { readBooleanInput, readChoice, readTimeoutSeconds } from './step-inputs.ts';
