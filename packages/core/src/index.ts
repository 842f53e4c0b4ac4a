/** The exchange core: no CI library in here; adapters call `login()` and export the result. */
export {
  type AudienceQuery,
  ENTRA_AUDIENCE,
  MAX_AUDIENCE_LENGTH,
  type ResolvedAudience,
  resolveAudience,
  resolveAudienceWithIdToken,
} from './audience.ts';
export {
  AUTH_TYPES,
  type AuthChoice,
  type AuthRequest,
  type CredentialInputNames,
  chooseAuthMethod,
  GITHUB_INPUT_NAMES,
  type IdTokenSourceOption,
} from './auth-type.ts';
export {
  configProfileText,
  hostVariables,
  type ProfileCredential,
  readProfileName,
  writeConfigProfile,
} from './config-profile.ts';
export type { Credential } from './exchange/credential.ts';
export {
  databricksTokenEndpoint,
  exchangeForDatabricksToken,
  isIssuedByDatabricksHost,
} from './exchange/databricks.ts';
export { AZURE_DATABRICKS_SCOPE, entraTokenEndpoint, exchangeWithEntra } from './exchange/entra.ts';
export {
  DEFAULT_GOOGLE_IAM_CREDENTIALS_URL,
  DEFAULT_GOOGLE_STS_URL,
  exchangeWithGoogle,
  GCP_ACCOUNTS_HOST,
  type GoogleCredentials,
  planGoogleLogin,
} from './exchange/google.ts';
export {
  type GoogleAttempt,
  type GooglePlan,
  parseWorkloadIdentityProvider,
} from './exchange/google-attempt.ts';
export { basicCredential, type ClientCredentials, requestClientCredentialsToken } from './exchange/m2m.ts';
export { verifyPersonalAccessToken } from './exchange/pat.ts';
export { verifyWorkspaceToken } from './exchange/verify.ts';
export { decodeIdToken, describeClaims, describeDuration, type IdTokenClaims } from './explain/claims.ts';
export { federationPolicyHint } from './explain/federation-policy-hint.ts';
export { googlePrincipal } from './explain/google-hint.ts';
export { describeIdTokenReport, type IdTokenReport } from './explain/id-token-report.ts';
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
  httpForOneLogin,
  type LoginContext,
  type LoginResult,
  login,
  obtainClientCredentialsToken,
  obtainCredential,
  PAT_EXPIRY_UNKNOWN,
} from './login.ts';
export {
  type AuthMethod,
  type AuthType,
  audienceQueryFor,
  describeHostRoute,
  type LoginOptions,
  type LoginPlan,
  type Provider,
  planLogin,
  withHostMetadata,
  workspaceHeaders,
} from './login-plan.ts';
export {
  assertLength,
  assertPrintable,
  isLoopbackHostname,
  isTenantId,
  MAX_HOST_NAME_LENGTH,
  MAX_URL_INPUT_LENGTH,
  normalizeAuthority,
  normalizeHost,
  normalizeUuid,
  readWorkspaceId,
} from './net/host.ts';
export {
  HOST_METADATA_PATH,
  type HostMetadata,
  type HostShape,
  parseHostMetadata,
  readHostMetadata,
} from './net/host-metadata.ts';
export {
  HttpClient,
  type HttpRequest,
  type HttpResponse,
  type HttpSettings,
  parseRetryAfter,
} from './net/http.ts';
export { RELEASE_REPOSITORY, RELEASE_VERSION, releaseDocumentUrl } from './release.ts';
export {
  describeFailure,
  LoginError,
  type LoginErrorCode,
  TROUBLESHOOTING_URL,
} from './safe-output/errors.ts';
export { type Logger, redactingLogger, silentLogger } from './safe-output/logger.ts';
export {
  hasControlCharacters,
  neutraliseRunnerCommands,
  printableLine,
  quoteInput,
} from './safe-output/printable.ts';
export { redactCredentialShapes, SecretRegistry } from './safe-output/redaction.ts';
export { type FreshLogin, loginAndKeepFresh, loginAndServe, type ServeOptions } from './serve/keep-fresh.ts';
export { requestMetadataToken } from './serve/metadata-client.ts';
export {
  METADATA_ANSWER_WITHIN_MS,
  METADATA_SERVICE_MAX_LIFETIME_MS,
  type MetadataServer,
  type MetadataServerOptions,
  sameHost,
  startMetadataServer,
} from './serve/metadata-server.ts';
export {
  launchMetadataService,
  type MetadataServiceLaunch,
  type MetadataServiceSettings,
  metadataServiceEnvironment,
  type RunningMetadataService,
  serveMetadataService,
} from './serve/metadata-service-process.ts';
export { createPrivateFile, replaceWithPrivateFile, writePrivateFile } from './serve/private-file.ts';
export { takeServiceLog } from './serve/service-log.ts';
export {
  isProcessAlive,
  type StopOutcome,
  stopMetadataService,
  stopOwnMetadataService,
} from './serve/service-stop.ts';
export { MIN_USABLE_LIFETIME_MS, TokenProvider, type TokenRefreshOptions } from './serve/token-cache.ts';
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
export {
  DEFAULT_SERVICE_LIFETIME_MINUTES,
  readBooleanInput,
  readChoice,
  readServiceLifetime,
  readTimeoutSeconds,
} from './step-inputs.ts';
