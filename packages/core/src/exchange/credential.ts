import { decodeJwt } from 'jose';
import type { HttpResponse } from '../net/http.ts';
import { parseJsonObject } from '../net/http.ts';
import { LoginError } from '../safe-output/errors.ts';
import { printableLine } from '../safe-output/printable.ts';
import { answerBegins } from '../safe-output/server-answer.ts';

/** A Databricks (or Entra-for-Databricks) access token and when it stops working. */
export interface Credential {
  token: string;
  expiresAt: Date;
}

/** A token that lives less than this is useless to later steps: the login fails instead. */
const MIN_LIFETIME_MS = 1_000;

/** The `exp` of a JWT access token in milliseconds, or undefined for an opaque token. */
function jwtExpiry(token: string): number | undefined {
  try {
    const exp = decodeJwt(token).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads an OAuth token response: `access_token` and `expires_in`. Anything else (HTML, empty
 * body, wrong types) is a malformed answer, never a crash. The expiry is the earlier of
 * `expires_in` and the token's own `exp` (when it is a JWT): an answer's word is not proof, and
 * a token that is already expired, or lives less than a second, is a failure.
 */
export function readTokenResponse(
  response: HttpResponse,
  step: string,
  where: string,
  now = Date.now(),
): Credential {
  const body = parseJsonObject(response.body);
  const token = body?.access_token;
  if (typeof token !== 'string' || token.trim() === '' || /\s/.test(token)) {
    throw new LoginError(
      'RESPONSE_MALFORMED',
      `Failed to ${step}: ${where} answered HTTP ${response.status} ${body ? 'without an access_token' : 'with something that is not JSON'}`,
      {
        hint: `Check that the host is right and that no proxy rewrites the answer. The answer began: ${answerBegins(response)}`,
      },
    );
  }
  const expiresIn = Number(body?.expires_in);
  const stated = body?.expires_in !== undefined && body?.expires_in !== null && Number.isFinite(expiresIn);
  const ownExpiry = jwtExpiry(token);
  // Without any usable lifetime, assume the shortest a federated token lives, so refreshes come early.
  const fromAnswer =
    now + (stated ? Math.min(expiresIn, 86_400) : ownExpiry === undefined ? 300 : 86_400) * 1000;
  const expiresAt = Math.min(fromAnswer, ownExpiry ?? Number.POSITIVE_INFINITY);
  if (expiresAt - now < MIN_LIFETIME_MS) {
    const why =
      ownExpiry !== undefined && ownExpiry <= fromAnswer
        ? `its exp claim says it expired${ownExpiry <= now ? '' : ' within a second'} (${new Date(ownExpiry).toISOString()})`
        : `expires_in is ${printableLine(String(body?.expires_in), 40)} seconds`;
    throw new LoginError(
      'TOKEN_EXPIRED',
      `Failed to ${step}: ${where} answered with a token that is already expired or expires within a second (${why})`,
      {
        hint: 'Check the runner clock (it may be ahead), and that the host is your Databricks workspace or Entra ID and not a proxy answering for it. Re-run the job; if it persists, report it to the identity provider.',
      },
    );
  }
  return { token, expiresAt: new Date(expiresAt) };
}
