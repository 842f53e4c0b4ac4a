import {
  type GoogleAttempt,
  type GooglePlan,
  parseWorkloadIdentityProvider,
} from '../exchange/google-attempt.ts';
import { printableLine } from '../safe-output/printable.ts';
import { describeClaims, type IdTokenClaims } from './claims.ts';

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Claims worth mapping to attributes, so a condition or a principalSet can name them. */
function mappedClaims(claims: IdTokenClaims): string[] {
  return ['repository', 'repository_owner'].filter((c) => typeof claims.payload[c] === 'string');
}

/** A condition that admits exactly this workload: the repository for GitHub, else the subject. */
function exampleCondition(claims: IdTokenClaims): string {
  const repository = claims.payload.repository;
  return typeof repository === 'string'
    ? `assertion.repository == '${printableLine(repository)}'`
    : `assertion.sub == '${printableLine(claims.sub)}'`;
}

/** The federated principal the pool makes of this token under the usual google.subject=assertion.sub. */
export function googlePrincipal(plan: GooglePlan, claims: IdTokenClaims): string {
  const pool = plan.workloadIdentityProvider.replace(/\/providers\/[^/]+$/, '');
  return `principal://iam.googleapis.com/${pool}/subject/${printableLine(claims.sub)}`;
}

/** What to change when STS refuses, by its OAuth error code. */
export function providerHint(error: string | undefined, attempt: GoogleAttempt): string {
  const p = parseWorkloadIdentityProvider(attempt.plan.workloadIdentityProvider);
  const where = p ? `provider ${p.provider} of pool ${p.pool} in project ${p.project}` : 'the provider';
  switch (error) {
    case 'invalid_target':
      return `Google has no enabled ${where}: check workload-identity-provider (project number, pool and provider IDs), and that neither pool nor provider is disabled or deleted.`;
    case 'unauthorized_client':
      return `The attribute condition of ${where} rejected this token: make the condition true for the claims below (e.g. ${exampleCondition(attempt.claims)}), or run from the repository, branch or environment it admits.`;
    case 'invalid_request':
      return 'Check workload-identity-provider: it must be the full provider name, projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER.';
    default:
      return `The token does not fit ${where}: its issuer-uri must equal the token's iss, its allowed audiences must include the token's aud, and its attribute mapping must give google.subject a value (below).`;
  }
}

/** What to grant when IAM Credentials refuses, by status and reason. */
export function iamGrantHint(
  status: number,
  reason: string | undefined,
  method: 'generateIdToken' | 'generateAccessToken',
  attempt: GoogleAttempt,
): string {
  const sa = attempt.plan.serviceAccount;
  const project = /@([^.]+)\.iam\.gserviceaccount\.com$/.exec(sa)?.[1] ?? 'PROJECT';
  if (reason === 'SERVICE_DISABLED') {
    return `Enable the IAM Service Account Credentials API: gcloud services enable iamcredentials.googleapis.com --project=${project}`;
  }
  if (status === 404) return `No service account ${sa} exists: check service-account (its e-mail).`;
  if (status === 401) {
    return 'IAM Credentials did not accept the token Google STS issued: check that GOOGLE_STS_URL and GOOGLE_IAM_CREDENTIALS_URL belong together (unset means Google).';
  }
  const principal = googlePrincipal(attempt.plan, attempt.claims);
  return method === 'generateIdToken'
    ? `The pool's principal ${principal} may not get ID tokens for ${sa} (iam.serviceAccounts.getOpenIdToken), or the service account does not exist. ` +
        'Grant the principal roles/iam.workloadIdentityUser and roles/iam.serviceAccountOpenIdTokenCreator on the service account; the commands are below.'
    : `The pool's principal ${principal} may not get access tokens for ${sa} (iam.serviceAccounts.getAccessToken), which the google-access-token output needs. ` +
        'Grant the principal roles/iam.workloadIdentityUser on the service account; the command is below.';
}

/** The CI token's claims and what the pool, provider and service account must accept, with gcloud commands. */
export function describeGoogleAttempt(
  attempt: GoogleAttempt,
  stage: 'sts' | 'generateIdToken' | 'generateAccessToken',
  now = Date.now(),
): string[] {
  const { plan, claims } = attempt;
  const p = parseWorkloadIdentityProvider(plan.workloadIdentityProvider);
  const lines = ['The ID token that was sent:', ...describeClaims(claims, now).map((l) => `  ${l}`)];
  if (!p) return lines;
  const mapped = mappedClaims(claims);
  const mapping = [
    'google.subject=assertion.sub',
    ...mapped.map((c) => `attribute.${c}=assertion.${c}`),
  ].join(',');
  const defaultAudience = `https://iam.googleapis.com/${p.name}`;
  if (stage === 'sts') {
    lines.push(
      `Google STS accepts it only if provider ${p.provider} of pool ${p.pool} (project ${p.project}) has:`,
      `  issuer-uri          = ${printableLine(claims.iss)}`,
      `  allowed audiences   include ${claims.aud.map((a) => printableLine(a)).join(', ')} (requested from ${attempt.audienceSource}; ` +
        (claims.aud.includes(defaultAudience)
          ? 'a provider without --allowed-audiences accepts it)'
          : `a provider without --allowed-audiences accepts only ${defaultAudience})`),
      `  attribute mapping   google.subject=assertion.sub gives google.subject = ${printableLine(claims.sub)}`,
      `  attribute condition true for these claims, e.g. ${printableLine(exampleCondition(claims))}`,
      `STS endpoint: ${plan.stsUrl}`,
      'A provider that accepts this token (update-oidc takes the same flags for an existing one):',
      `  gcloud iam workload-identity-pools providers create-oidc ${p.provider} --project=${p.project} --location=global --workload-identity-pool=${p.pool} ` +
        `--issuer-uri=${shellQuote(printableLine(claims.iss))} --attribute-mapping=${shellQuote(mapping)} --attribute-condition=${shellQuote(exampleCondition(claims))}` +
        (claims.aud.includes(defaultAudience) || claims.aud.length === 0
          ? ''
          : ` --allowed-audiences=${shellQuote(printableLine(claims.aud.join(',')))}`),
    );
    return lines;
  }
  const principal = googlePrincipal(plan, claims);
  const pool = p.name.replace(/\/providers\/[^/]+$/, '');
  const roles = ['roles/iam.workloadIdentityUser'];
  if (stage === 'generateIdToken') roles.push('roles/iam.serviceAccountOpenIdTokenCreator');
  lines.push(
    `The pool maps it (with google.subject=assertion.sub) to the principal ${principal}`,
    `IAM Credentials lets that principal call ${stage} for ${plan.serviceAccount} only with ${roles.join(' and ')} on the service account:`,
    ...roles.map(
      (role) =>
        `  gcloud iam service-accounts add-iam-policy-binding ${plan.serviceAccount} --role=${role} --member=${shellQuote(principal)}`,
    ),
  );
  const repository = claims.payload.repository;
  if (typeof repository === 'string') {
    lines.push(
      `For every run of the repository instead of this subject only, use --member=${shellQuote(`principalSet://iam.googleapis.com/${pool}/attribute.repository/${printableLine(repository)}`)} (the provider must map attribute.repository=assertion.repository).`,
    );
  }
  lines.push(`IAM Credentials endpoint: ${plan.iamCredentialsUrl}`);
  return lines;
}
