/** The exchange core: no CI library in here; adapters call `login()` and export the result. */
export { type AudienceQuery, ENTRA_AUDIENCE, type ResolvedAudience, resolveAudience } from './audience.ts';
export { decodeIdToken, describeClaims, describeDuration, type IdTokenClaims } from './claims.ts';
export type { Credential } from './credential.ts';
export { describeFailure, LoginError, type LoginErrorCode, TROUBLESHOOTING_URL } from './errors.ts';
export { databricksTokenEndpoint, exchangeForDatabricksToken } from './exchange-databricks.ts';
export { AZURE_DATABRICKS_SCOPE, entraTokenEndpoint, exchangeWithEntra } from './exchange-entra.ts';
export { federationPolicyHint } from './federation-policy-hint.ts';
export { assertPrintable, isLoopbackHostname, normalizeHost, normalizeUuid } from './host.ts';
export {
  HttpClient,
  type HttpRequest,
  type HttpResponse,
  type HttpSettings,
  parseRetryAfter,
} from './http.ts';
export {
  AZURE_DEVOPS_AUDIENCE,
  type AzureDevOpsJob,
  azureDevOpsIdTokenSource,
  azureDevOpsOidcTokenUrl,
  environmentIdTokenSource,
  fileIdTokenSource,
  githubIdTokenSource,
  type IdTokenSource,
} from './id-token-sources.ts';
export { type Logger, redactingLogger, silentLogger } from './logger.ts';
export {
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
  METADATA_SERVICE_MAX_LIFETIME_MS,
  type MetadataServer,
  startMetadataServer,
} from './metadata-server.ts';
export {
  isProcessAlive,
  launchMetadataService,
  type MetadataServiceLaunch,
  type MetadataServiceSettings,
  type RunningMetadataService,
  serveMetadataService,
  stopMetadataService,
} from './metadata-service-process.ts';
export { hasControlCharacters, printableLine } from './printable.ts';
export { redactCredentialShapes, SecretRegistry } from './redaction.ts';
export { readBooleanInput, readChoice, readTimeoutSeconds } from './step-inputs.ts';
export { TokenProvider } from './token-provider.ts';
export { verifyWorkspaceToken } from './verify.ts';
