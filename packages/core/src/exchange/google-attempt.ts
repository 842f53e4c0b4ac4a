import type { IdTokenClaims } from '../explain/claims.ts';

/** A validated provider-google login: what to send where. */
export interface GooglePlan {
  /** `projects/N/locations/global/workloadIdentityPools/P/providers/V`. */
  workloadIdentityProvider: string;
  serviceAccount: string;
  /** The full STS token URL. */
  stsUrl: string;
  /** The IAM Credentials base URL, without a trailing slash. */
  iamCredentialsUrl: string;
  /** The Google ID token's audience: the workspace URL, or the accounts host. */
  idTokenAudience: string;
  /** Also mint a cloud-platform access token, for X-Databricks-GCP-SA-Access-Token. */
  accessToken: boolean;
}

/** What the diagnostics of a refused Google exchange need to know about the attempt. */
export interface GoogleAttempt {
  plan: GooglePlan;
  claims: IdTokenClaims;
  /** The CI token's audience, and where it came from. */
  audience: string;
  audienceSource: string;
}

/** The parts of `projects/N/locations/global/workloadIdentityPools/P/providers/V`. */
export interface WorkloadIdentityProviderName {
  name: string;
  project: string;
  pool: string;
  provider: string;
}

/** Parses a provider name; the `//iam.googleapis.com/` and `https://iam.googleapis.com/` forms are accepted too. */
export function parseWorkloadIdentityProvider(raw: string): WorkloadIdentityProviderName | undefined {
  const name = raw.replace(/^(?:https:)?\/\/iam\.googleapis\.com\//, '');
  const m =
    /^projects\/([^/\s]+)\/locations\/global\/workloadIdentityPools\/([^/\s]+)\/providers\/([^/\s]+)$/.exec(
      name,
    );
  if (!m?.[1] || !m[2] || !m[3]) return undefined;
  return { name, project: m[1], pool: m[2], provider: m[3] };
}
