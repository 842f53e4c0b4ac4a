import {
  describeExchangeAttempt,
  type ExchangeAttempt,
  federationPolicyHint,
} from '../explain/federation-policy-hint.ts';
import { formBody, type HttpClient, type HttpResponse } from '../net/http.ts';
import { LoginError } from '../safe-output/errors.ts';
import { looksLikeHtml, serverSays } from '../safe-output/server-answer.ts';
import { type Credential, readTokenResponse } from './credential.ts';

/** Workspace: `<host>/oidc/v1/token`; account: `<accounts-host>/oidc/accounts/<id>/v1/token`. */
export function databricksTokenEndpoint(host: string, accountId?: string): string {
  return accountId ? `${host}/oidc/accounts/${accountId}/v1/token` : `${host}/oidc/v1/token`;
}

/**
 * True when `iss` is this Databricks host's own OIDC issuer (`<host>/oidc`, the host itself, or
 * for an account `<host>/oidc/accounts/<id>`): such a token is already a Databricks token.
 * The whole origin must match (scheme, host and port), not only the host name.
 */
export function isIssuedByDatabricksHost(iss: string, host: string, accountId?: string): boolean {
  let issuer: URL;
  try {
    issuer = new URL(iss);
  } catch {
    return false;
  }
  if (issuer.origin !== new URL(host).origin || issuer.search || issuer.hash) return false;
  const path = issuer.pathname.replace(/\/+$/, '');
  return (
    path === '' || path === '/oidc' || (accountId !== undefined && path === `/oidc/accounts/${accountId}`)
  );
}

/**
 * Exchanges an ID token for a Databricks OAuth token through token federation (RFC 8693).
 * A rejection is never retried: it explains itself with the token's claims and the policy
 * that would accept it.
 */
export async function exchangeForDatabricksToken(
  http: HttpClient,
  idToken: string,
  attempt: ExchangeAttempt,
): Promise<Credential> {
  const step = 'exchange the ID token for a Databricks token';
  const response = await http.send({
    method: 'POST',
    url: attempt.tokenEndpoint,
    step,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: formBody({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: idToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      scope: 'all-apis',
      client_id: attempt.clientId,
    }),
  });
  const credential = readDatabricksTokenAnswer(response, step, attempt.tokenEndpoint, attempt.accountId);
  if (credential) return credential;
  if (response.status === 400 || response.status === 401 || response.status === 403) {
    throw new LoginError(
      'EXCHANGE_REJECTED',
      `Failed to ${step}: Databricks refused it (HTTP ${response.status}: ${serverSays(response)})`,
      {
        hint:
          'Databricks found no federation policy matching this token. Make one policy match the token exactly: issuer = iss, one of audiences = aud, subject = sub (below). ' +
          'Or change what the step sends: set audience to a value your policy lists, or client-id to the service principal that has the policy.',
        evidence: [...describeExchangeAttempt(attempt), ...federationPolicyHint(attempt)],
      },
    );
  }
  throw new LoginError(
    'SERVER_ERROR',
    `Failed to ${step}: ${attempt.tokenEndpoint} answered HTTP ${response.status} (${serverSays(response)})`,
    {
      hint: 'Databricks had a problem; retries did not help. Re-run the job, and check status.databricks.com if it persists.',
    },
  );
}

/**
 * The parts of a Databricks token endpoint's answer that every grant reads alike: a token (200),
 * or a sign that the host is no Databricks token endpoint at all. Undefined for the rest
 * (refusals, server errors), which each grant explains in its own terms.
 */
export function readDatabricksTokenAnswer(
  response: HttpResponse,
  step: string,
  tokenEndpoint: string,
  accountId: string | undefined,
): Credential | undefined {
  // A web page, even with 200, means the host is not a Databricks API (wrong host, login portal).
  if (response.status === 200 && !looksLikeHtml(response))
    return readTokenResponse(response, step, tokenEndpoint);
  if (
    response.status === 200 ||
    response.status === 404 ||
    response.status === 405 ||
    looksLikeHtml(response)
  ) {
    throw new LoginError(
      'NOT_DATABRICKS',
      `Failed to ${step}: ${tokenEndpoint} answered HTTP ${response.status}${looksLikeHtml(response) ? ' with a web page' : ''}, not a Databricks token endpoint`,
      {
        hint: accountId
          ? `Check account-id (${accountId}) and that host is your accounts console (https://accounts.cloud.databricks.com, https://accounts.azuredatabricks.net or https://accounts.gcp.databricks.com), not a workspace URL.`
          : 'Check that host is your workspace URL as shown in the browser (e.g. https://adb-1234567890123456.7.azuredatabricks.net); for an account-level token set account-id and the accounts host. ' +
            'A unified host (one URL for an account and its workspaces) answers this with its sign-in page: keep the ?w= of the URL the browser shows, or set the workspace ID and account-id.',
        evidence: [`Databricks answered: ${serverSays(response)}`],
      },
    );
  }
  return undefined;
}
