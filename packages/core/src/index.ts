/** The exchange core: no CI library in here; adapters call `login()` and export the result. */
export {
  type AudienceQuery,
  ENTRA_AUDIENCE,
  MAX_AUDIENCE_LENGTH,
  type ResolvedAudience,
  resolveAudience,
  resolveAudienceWithIdToken,
} from './audience.ts';
export type { Credential } from './exchange/credential.ts';
export { databricksTokenEndpoint, exchangeForDatabricksToken } from './exchange/databricks.ts';
export { AZURE_DATABRICKS_SCOPE, entraTokenEndpoint, exchangeWithEntra } from './exchange/entra.ts';
export { verifyWorkspaceToken } from './exchange/verify.ts';
export { decodeIdToken, describeClaims, describeDuration, type IdTokenClaims } from './explain/claims.ts';
export { describeFailure, LoginError, type LoginErrorCode, TROUBLESHOOTING_URL } from './explain/errors.ts';
export { federationPolicyHint } from './explain/federation-policy-hint.ts';
export { type Logger, redactingLogger, silentLogger } from './explain/logger.ts';
export {
  hasControlCharacters,
  neutraliseRunnerCommands,
  printableLine,
  quoteInput,
} from './explain/printable.ts';
export { redactCredentialShapes, SecretRegistry } from './explain/redaction.ts';
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
export {
  assertLength,
  assertPrintable,
  isLoopbackHostname,
  isTenantId,
  MAX_HOST_NAME_LENGTH,
  MAX_URL_INPUT_LENGTH,
  normalizeHost,
  normalizeUuid,
} from './net/host.ts';
export {
  HttpClient,
  type HttpRequest,
  type HttpResponse,
  type HttpSettings,
  parseRetryAfter,
} from './net/http.ts';
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
export { environmentIdTokenSource } from './sources/environment.ts';
export { fileIdTokenSource } from './sources/file.ts';
export { githubIdTokenSource } from './sources/github.ts';
export type { IdTokenSource } from './sources/id-token-source.ts';
export { readBooleanInput, readChoice, readTimeoutSeconds } from './step-inputs.ts';
