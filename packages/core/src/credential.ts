import { LoginError } from './errors.ts';
import type { HttpResponse } from './http.ts';
import { parseJsonObject } from './http.ts';
import { printableLine } from './printable.ts';
import { redactCredentialShapes } from './redaction.ts';

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

/** A short, redacted, single-line excerpt of a server's answer, safe to print. */
export function excerpt(body: string, max = 200): string {
  return printableLine(redactCredentialShapes(body), max) || '(empty)';
}

/** The OAuth `error: error_description` of an answer, redacted, or an excerpt when it has none. */
export function serverSays(response: HttpResponse): string {
  const body = parseJsonObject(response.body);
  const parts = [body?.error, body?.error_description ?? body?.message]
    .filter((p): p is string => typeof p === 'string' && p.trim() !== '')
    .map((p) => excerpt(p, 300));
  return parts.length > 0 ? parts.join(': ') : excerpt(response.body);
}

/** True when the answer is a web page rather than an API answer. */
export function looksLikeHtml(response: HttpResponse): boolean {
  const type = String(response.headers['content-type'] ?? '');
  return type.includes('text/html') || /^\s*<(!doctype|html)/i.test(response.body);
}
