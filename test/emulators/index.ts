import { randomUUID } from 'node:crypto';
import { AzureDevOpsEmulator, type ServiceConnection } from './azure-devops.ts';
import { DatabricksEmulator, type DatabricksEmulatorOptions, type ServicePrincipal } from './databricks.ts';
import { EntraEmulator } from './entra.ts';
import { GITHUB_ISSUER, GitHubEmulator, type GitHubEmulatorOptions } from './github.ts';

export { AzureDevOpsEmulator, type ServiceConnection } from './azure-devops.ts';
export { ConnectProxy } from './connect-proxy.ts';
export {
  DatabricksEmulator,
  type GoogleIdentities,
  type OidcPolicy,
  type ServicePrincipal,
} from './databricks.ts';
export { EntraEmulator } from './entra.ts';
export { GITHUB_ISSUER, GitHubEmulator } from './github.ts';
export {
  type GoogleCloud,
  GoogleIamCredentialsEmulator,
  GoogleStsEmulator,
  type PoolProvider,
  poolName,
  providerName,
  startGoogleCloud,
} from './google.ts';
export { JwtIssuer } from './jwt-issuer.ts';
export type { Fault, RecordedRequest } from './loopback-server.ts';
export { TestCertificateAuthority, type TlsIdentity } from './test-ca.ts';

/** A running set of emulators wired to trust each other, plus the identities of the scenario. */
export interface Emulators {
  github: GitHubEmulator;
  databricks: DatabricksEmulator;
  entra: EntraEmulator;
  azureDevOps: AzureDevOpsEmulator;
  /** An authorised workload-identity service connection of the Azure DevOps project. */
  serviceConnection: ServiceConnection;
  /** A service principal whose policy accepts the GitHub job's token for the default audience. */
  servicePrincipal: ServicePrincipal;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  github?: GitHubEmulatorOptions;
  databricks?: Omit<DatabricksEmulatorOptions, 'servicePrincipals'>;
  /** The audience the service principal's policy lists; default `<databricks>/oidc/v1/token`. */
  policyAudience?: string;
}

/**
 * Starts GitHub, Databricks and Entra ID emulators on 127.0.0.1, with one service principal
 * whose federation policy matches the GitHub job (issuer, subject, default audience) and one
 * Entra app whose federated credential does too.
 */
export async function startEmulators(options: EmulatorOptions = {}): Promise<Emulators> {
  const github = await GitHubEmulator.create(options.github);
  const servicePrincipal: ServicePrincipal = {
    id: 7_345_001_234,
    applicationId: randomUUID(),
    displayName: 'github-deployer',
    policies: [],
  };
  const databricks = await DatabricksEmulator.create({
    ...options.databricks,
    servicePrincipals: [servicePrincipal],
  });
  servicePrincipal.policies.push({
    issuer: options.github?.issuer ?? GITHUB_ISSUER,
    audiences: [options.policyAudience ?? databricks.workspaceTokenEndpoint],
    subject: String(github.claims.sub),
  });
  databricks.trust(github.jwt);

  // Azure DevOps: the same service principal also trusts the pipeline and its service connection.
  const azureDevOps = await AzureDevOpsEmulator.create();
  const serviceConnection: ServiceConnection = { id: randomUUID(), name: 'databricks-wif', authorized: true };
  azureDevOps.serviceConnections.push(serviceConnection);
  const adoAudience = ['api://AzureADTokenExchange'];
  const scSubject = azureDevOps.serviceConnectionSubject(serviceConnection.name);
  servicePrincipal.policies.push(
    { issuer: azureDevOps.issuer, audiences: adoAudience, subject: azureDevOps.pipelineSubject },
    { issuer: azureDevOps.issuer, audiences: adoAudience, subject: scSubject },
  );
  databricks.trust(azureDevOps.jwt);

  const entra = await EntraEmulator.create(databricks, {
    apps: [
      {
        clientId: servicePrincipal.applicationId,
        federatedCredentials: [
          { issuer: github.jwt.issuer, subject: String(github.claims.sub), audiences: adoAudience },
          { issuer: azureDevOps.issuer, subject: scSubject, audiences: adoAudience },
        ],
      },
    ],
  });
  entra.trust(github.jwt);
  entra.trust(azureDevOps.jwt);
  return {
    github,
    databricks,
    entra,
    azureDevOps,
    serviceConnection,
    servicePrincipal,
    async stop() {
      await Promise.all([github.stop(), databricks.stop(), entra.stop(), azureDevOps.stop()]);
    },
  };
}
