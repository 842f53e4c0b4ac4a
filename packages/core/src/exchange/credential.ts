import { LoginError } from '../explain/errors.ts';
import { excerpt } from '../explain/server-answer.ts';
import type { HttpResponse } from '../net/http.ts';
import { parseJsonObject } from '../net/http.ts';

/** A Databricks (or Entra-for-Databricks) access token and when it stops working. */
export interface Credential {
  token: string;
  expiresAt: Date;
}

/**
 * Reads an OAuth token response: `access_token` and `expires_in`. Anything else (HTML, empty
 * body, wrong types) is a malformed answer, never a crash.
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
        hint: `Check that the host is right and that no proxy rewrites the answer. The answer began: ${excerpt(response.body)}`,
      },
    );
  }
  const expiresIn = Number(body?.expires_in);
  // Without a usable lifetime, assume the shortest a federated token lives, so refreshes come early.
  const seconds = Number.isFinite(expiresIn) && expiresIn > 0 ? Math.min(expiresIn, 86_400) : 300;
  return { token, expiresAt: new Date(now + seconds * 1000) };
}
