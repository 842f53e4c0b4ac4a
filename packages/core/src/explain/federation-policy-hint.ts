import { printableLine } from '../safe-output/printable.ts';
import { describeClaims, type IdTokenClaims } from './claims.ts';

/** What the diagnostics of a rejected exchange need to know about the attempt. */
export interface ExchangeAttempt {
  claims: IdTokenClaims;
  audience: string;
  audienceSource: string;
  /** The token was minted elsewhere with its audience (GitLab id_tokens, files): it cannot be requested. */
  audienceSetWhereMinted?: boolean | undefined;
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

/** Notes on an issuer that users commonly get wrong. */
function issuerNote(iss: string): string {
  if (/^https:\/\/token\.actions\.githubusercontent\.com\/.+/.test(iss)) {
    return ' (your GitHub enterprise uses a custom issuer: the policy needs this exact value, path included)';
  }
  if (iss.startsWith('https://vstoken.dev.azure.com/'))
    return ' (the GUID is your organization ID, System.CollectionId)';
  if (iss.startsWith('https://login.microsoftonline.com/'))
    return ' (an Entra-issued service connection token)';
  return '';
}

/** Notes on the subject: the value that most often differs from the policy. */
function subjectNote(sub: string): string {
  if (sub.startsWith('repo:')) {
    return ' (GitHub builds it from the trigger: environment, branch, tag or pull_request; custom subject templates change it too)';
  }
  if (sub.startsWith('p://')) return ' (the pipeline: p://organization/project/pipeline name)';
  if (sub.startsWith('sc://')) return ' (the service connection: sc://organization/project/connection name)';
  return '';
}

/**
 * The evidence of a rejected Databricks exchange, as a checklist: Databricks accepts the token
 * only when one policy matches issuer, audience and subject exactly, and it does not say which
 * one failed, so each line gives the token's value and how to change either side.
 */
export function describeExchangeAttempt(attempt: ExchangeAttempt, now = Date.now()): string[] {
  const { claims, clientId } = attempt;
  const owner = clientId
    ? `a federation policy of the service principal with application ID ${clientId}`
    : 'an account-wide federation policy (no client-id was sent)';
  // Claims come from the token: one printable line each, however long or odd.
  const claim = (value: string) => printableLine(value, 500);
  const lines = [
    `Databricks accepts this token only if ${owner} matches all of:`,
    `  issuer   = ${claim(claims.iss)}${issuerNote(claims.iss)}`,
    attempt.audienceSetWhereMinted
      ? `  audience = ${claim(claims.aud.join(', '))} (from ${attempt.audienceSource}; list it in the policy's audiences, or change it where the token is minted; a policy without audiences accepts only the account ID)`
      : `  audience = ${claim(claims.aud.join(', '))} (requested from ${attempt.audienceSource}; list it in the policy's audiences, or set the audience input to one the policy lists; a policy without audiences accepts only the account ID)`,
    `  subject  = ${claim(claims.sub)}${subjectNote(claims.sub)}`,
  ];
  if (clientId) {
    lines.push(
      `  client-id ${clientId} must be the application ID of the service principal that holds the policy (not another service principal's, and not the numeric ID).`,
    );
  }
  lines.push(
    'The ID token that was sent:',
    ...describeClaims(claims, now).map((line) => `  ${line}`),
    `Token endpoint: ${attempt.tokenEndpoint}`,
  );
  return lines;
}
