import { join } from 'node:path';
import type { IdTokenClaims } from '../explain/claims.ts';
import { fileIdTokenSource } from './file.ts';
import type { IdTokenSource } from './id-token-source.ts';

/** Where a pod finds its service-account token, namespace and the cluster's CA. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** What users get wrong about Kubernetes-issued tokens: the issuer and where Databricks finds its keys. */
export function kubernetesPolicyNotes(claims: IdTokenClaims): string[] {
  const notes = [
    `The issuer is the cluster's service-account issuer (${claims.iss}). On AKS it is the cluster's OIDC issuer URL (az aks show --query oidcIssuerProfile.issuerUrl); on EKS and GKE the cluster's OIDC URL: never https://kubernetes.default.svc.`,
    "Databricks fetches the signing keys from <issuer>/.well-known/openid-configuration: if the issuer is private (not reachable from Databricks), put the cluster's JWKS in the policy as jwks_json (kubectl get --raw /openid/v1/jwks).",
  ];
  if (/^https?:\/\/kubernetes\.default\.svc/.test(claims.iss)) {
    notes.unshift(
      "This token's issuer is the in-cluster default, which Databricks cannot reach: enable the cluster's OIDC issuer (AKS --enable-oidc-issuer) or use jwks_json.",
    );
  }
  return notes;
}

/**
 * Kubernetes: a projected service-account token (with the audience of the pod spec's
 * `serviceAccountToken.audience`), or the pod's default token. Re-read on every call: the
 * kubelet rotates it.
 */
export function kubernetesIdTokenSource(
  tokenFile?: string,
  serviceAccountDir = SERVICE_ACCOUNT_DIR,
): IdTokenSource {
  const path = tokenFile || join(serviceAccountDir, 'token');
  return fileIdTokenSource(path, {
    description: `Kubernetes (the service-account token ${path})`,
    audienceSetWhereMinted: "the pod spec's projected volume (serviceAccountToken.audience)",
    missingHint: tokenFile
      ? `Mount a projected service-account token at ${path} (volumes: projected: sources: serviceAccountToken: {audience, path}).`
      : `The pod has no service-account token at ${path}: set automountServiceAccountToken, or mount a projected token and pass --token-file.`,
    policyNotes: kubernetesPolicyNotes,
  });
}
