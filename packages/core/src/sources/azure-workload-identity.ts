import { fileIdTokenSource } from './file.ts';
import type { IdTokenSource } from './id-token-source.ts';
import { kubernetesPolicyNotes } from './kubernetes.ts';

/** The settings the Azure Workload Identity webhook injects into a pod. */
export interface AzureWorkloadIdentity {
  tokenFile: string;
  clientId: string | undefined;
  tenantId: string | undefined;
  authorityHost: string | undefined;
}

/** Reads AZURE_FEDERATED_TOKEN_FILE and friends; undefined when the webhook did not run. */
export function readAzureWorkloadIdentity(env: NodeJS.ProcessEnv): AzureWorkloadIdentity | undefined {
  const tokenFile = env.AZURE_FEDERATED_TOKEN_FILE?.trim();
  if (!tokenFile) return undefined;
  return {
    tokenFile,
    clientId: env.AZURE_CLIENT_ID?.trim() || undefined,
    tenantId: env.AZURE_TENANT_ID?.trim() || undefined,
    authorityHost: env.AZURE_AUTHORITY_HOST?.trim() || undefined,
  };
}

/**
 * AKS with Azure Workload Identity: the projected token (audience api://AzureADTokenExchange)
 * that Entra ID accepts for the managed identity or app named by AZURE_CLIENT_ID.
 */
export function azureWorkloadIdentityIdTokenSource(identity: AzureWorkloadIdentity): IdTokenSource {
  return fileIdTokenSource(identity.tokenFile, {
    description: `Azure Workload Identity (AZURE_FEDERATED_TOKEN_FILE ${identity.tokenFile})`,
    audienceSetWhereMinted: 'the Azure Workload Identity webhook (api://AzureADTokenExchange)',
    missingHint:
      'Label the pod azure.workload.identity/use: "true" and annotate its service account with azure.workload.identity/client-id, so the webhook mounts the token.',
    policyNotes: (claims) => [
      `Entra ID needs a federated identity credential on the app or managed identity ${identity.clientId ?? '(AZURE_CLIENT_ID)'} with issuer ${claims.iss}, subject ${claims.sub} and audience api://AzureADTokenExchange.`,
      ...kubernetesPolicyNotes(claims),
    ],
  });
}
