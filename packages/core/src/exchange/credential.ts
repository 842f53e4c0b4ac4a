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

/**
 * The characters of every real access token: the base64url and JWT alphabet plus `.~+/=-_`
 * (Databricks, Entra, Google and PATs all fit). No quote, backslash, `$`, backtick, space, control
 * or non-ASCII character, so a token printed raw (stdout, `env` formats, a header) can neither break
 * out of quoting, nor start a runner command (`::`, `##[`), nor carry a terminal escape.
 */
const TOKEN_SHAPE = /^[A-Za-z0-9._~+/=-]+$/;

/** True when `token` has the shape of an access token (see TOKEN_SHAPE). */
export function isTokenShaped(token: unknown): token is string {
  return typeof token === 'string' && TOKEN_SHAPE.test(token);
}

/**
 * The one refusal of an answer whose token field is missing or is not token-shaped: it quotes a
 * redacted excerpt of the answer, never the value itself.
 */
export function malformedTokenAnswer(
  step: string,
  where: string,
  response: HttpResponse,
  field: string,
  hint = 'Check that the host is right and that no proxy rewrites the answer.',
): LoginError {
  const body = parseJsonObject(response.body);
  const value = body?.[field];
  const article = /^[aeiou]/i.test(field) ? 'an' : 'a';
  const what = !body
    ? 'with something that is not JSON'
    : typeof value === 'string' && value !== ''
      ? `with ${article} ${field} that is not a token (only letters, digits and . ~ + / = - _ are allowed)`
      : `without ${article} ${field}`;
  return new LoginError(
    'RESPONSE_MALFORMED',
    `Failed to ${step}: ${where} answered HTTP ${response.status} ${what}`,
    {
      hint: `${hint} The answer began: ${answerBegins(response)}`,
    },
  );
}

/**
 * Refuses a credential that is already expired or lives less than a second: one rule for every
 * exchanger, so no answer's word on expiry is taken on trust.
 */
export function assertUsableLifetime(
  expiresAt: number,
  now: number,
  step: string,
  where: string,
  why: string,
): void {
  if (expiresAt - now >= MIN_LIFETIME_MS) return;
  throw new LoginError(
    'TOKEN_EXPIRED',
    `Failed to ${step}: ${where} answered with a token that is already expired or expires within a second (${why})`,
    {
      hint: 'Check the runner clock (it may be ahead), and that the host is your Databricks workspace, Entra ID or Google and not a proxy answering for it. Re-run the job; if it persists, report it to the identity provider.',
    },
  );
}

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
  if (!isTokenShaped(token)) throw malformedTokenAnswer(step, where, response, 'access_token');
  const expiresIn = Number(body?.expires_in);
  const stated = body?.expires_in !== undefined && body?.expires_in !== null && Number.isFinite(expiresIn);
  const ownExpiry = jwtExpiry(token);
  // Without any usable lifetime, assume the shortest a federated token lives, so refreshes come early.
  const fromAnswer =
    now + (stated ? Math.min(expiresIn, 86_400) : ownExpiry === undefined ? 300 : 86_400) * 1000;
  const expiresAt = Math.min(fromAnswer, ownExpiry ?? Number.POSITIVE_INFINITY);
  const why =
    ownExpiry !== undefined && ownExpiry <= fromAnswer
      ? `its exp claim says it expired${ownExpiry <= now ? '' : ' within a second'} (${new Date(ownExpiry).toISOString()})`
      : `expires_in is ${printableLine(String(body?.expires_in), 40)} seconds`;
  assertUsableLifetime(expiresAt, now, step, where, why);
  return { token, expiresAt: new Date(expiresAt) };
}
