import { formBody, type HttpClient, parseJsonObject } from '../net/http.ts';
import { LoginError } from '../safe-output/errors.ts';
import { serverSays } from '../safe-output/server-answer.ts';
import type { Credential } from './credential.ts';
import { databricksTokenEndpoint, readDatabricksTokenAnswer } from './databricks.ts';

/** A service principal's OAuth secret, and where to use it. */
export interface ClientCredentials {
  host: string;
  accountId?: string | undefined;
  clientId: string;
  clientSecret: string;
  /** Where the host's metadata says to ask; default `<host>/oidc/v1/token` or the account's. */
  tokenEndpoint?: string | undefined;
}

/**
 * A value as application/x-www-form-urlencoded writes it (RFC 6749 2.3.1). The form of the secret
 * is as secret as the secret: a server that echoes the decoded Basic header shows this one.
 */
export function formEncoded(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/**
 * The HTTP Basic credential: base64 of client_id:client_secret, each part form-encoded first
 * (RFC 6749 2.3.1). It is as secret as the secret: register it before sending it.
 */
export function basicCredential(clientId: string, clientSecret: string): string {
  return Buffer.from(`${formEncoded(clientId)}:${formEncoded(clientSecret)}`).toString('base64');
}

/**
 * OAuth M2M: `POST <host>/oidc/v1/token` (account: `/oidc/accounts/<id>/v1/token`) with HTTP Basic
 * client_id:client_secret, `grant_type=client_credentials` and `scope=all-apis`. A refusal names
 * the client ID and what to fix; never the secret.
 */
export async function requestClientCredentialsToken(
  http: HttpClient,
  credentials: ClientCredentials,
): Promise<Credential> {
  const { clientId, accountId } = credentials;
  const tokenEndpoint = credentials.tokenEndpoint ?? databricksTokenEndpoint(credentials.host, accountId);
  const step = `get a Databricks token with the OAuth secret of service principal ${clientId}`;
  const response = await http.send({
    method: 'POST',
    url: tokenEndpoint,
    step,
    headers: {
      authorization: `Basic ${basicCredential(clientId, credentials.clientSecret)}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: formBody({ grant_type: 'client_credentials', scope: 'all-apis' }),
  });
  const credential = readDatabricksTokenAnswer(response, step, tokenEndpoint, accountId);
  if (credential) return credential;
  if (response.status === 400 || response.status === 401 || response.status === 403) {
    const error = parseJsonObject(response.body)?.error;
    const where = accountId ? `the account ${accountId}` : 'this workspace';
    throw new LoginError(
      'CLIENT_CREDENTIALS_REJECTED',
      `Failed to ${step}: Databricks refused the client ID and secret (HTTP ${response.status}: ${serverSays(response)})`,
      {
        hint:
          error === 'invalid_scope' || error === 'unsupported_grant_type'
            ? `Databricks did not accept the request for ${where}; check that OAuth M2M is enabled for it and that host is right.`
            : `Check that ${clientId} is the service principal's application ID (a UUID, not its numeric ID) and that the service principal exists in ${where}. ` +
              'If it does, the secret is wrong, expired or deleted: generate a new OAuth secret for the service principal (account console > User management > Service principals > Secrets, or the workspace settings > Identity and access), and update the CI secret that holds it.',
      },
    );
  }
  throw new LoginError(
    'SERVER_ERROR',
    `Failed to ${step}: ${tokenEndpoint} answered HTTP ${response.status} (${serverSays(response)})`,
    {
      hint: 'Databricks had a problem; retries did not help. Re-run the job, and check status.databricks.com if it persists.',
    },
  );
}
