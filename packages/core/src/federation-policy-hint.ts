import { describeClaims, type IdTokenClaims } from './claims.ts';

/** What the diagnostics of a rejected exchange need to know about the attempt. */
export interface ExchangeAttempt {
  claims: IdTokenClaims;
  audience: string;
  audienceSource: string;
  clientId?: string | undefined;
  accountId?: string | undefined;
  tokenEndpoint: string;
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * Builds, from the token's actual claims, the federation policy that would accept it and the
 * CLI command that creates it. Databricks rarely says which check failed ("Invalid
 * credentials"), so the claims are the evidence.
 */
export function federationPolicyHint(attempt: ExchangeAttempt): string[] {
  const { claims, audience, clientId } = attempt;
  if (clientId) {
    const policy = { oidc_policy: { issuer: claims.iss, audiences: [audience], subject: claims.sub } };
    return [
      'A service principal federation policy that accepts this token:',
      ...JSON.stringify(policy, null, 2).split('\n'),
      `Create it (SERVICE_PRINCIPAL_ID is the numeric ID on the service principal's account console page, not the application ID ${clientId}):`,
      `  databricks account service-principal-federation-policy create SERVICE_PRINCIPAL_ID --json ${shellQuote(JSON.stringify(policy))}`,
    ];
  }
  const policy = { oidc_policy: { issuer: claims.iss, audiences: [audience], subject_claim: 'sub' } };
  return [
    'No client-id was sent, so Databricks looked for an account-wide federation policy; the token subject must then be a user or service principal of the account.',
    'For CI, prefer a service principal: set client-id to its application ID and create a service principal federation policy with this issuer, audience and subject.',
    'An account federation policy that accepts this token:',
    ...JSON.stringify(policy, null, 2).split('\n'),
    `  databricks account federation-policy create --json ${shellQuote(JSON.stringify(policy))}`,
  ];
}

/** The evidence lines of a rejected Databricks exchange: what was sent, and the policy to create. */
export function describeExchangeAttempt(attempt: ExchangeAttempt, now = Date.now()): string[] {
  return [
    'The ID token that was sent:',
    ...describeClaims(attempt.claims, now).map((line) => `  ${line}`),
    `The audience was chosen from ${attempt.audienceSource}.`,
    attempt.clientId
      ? `client_id sent: ${attempt.clientId} (so a service principal federation policy of that service principal must match)`
      : 'client_id sent: none (so an account-wide federation policy must match)',
    `Token endpoint: ${attempt.tokenEndpoint}`,
  ];
}
