import { decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import { LoginError } from '../safe-output/errors.ts';
import { printableLine } from '../safe-output/printable.ts';

/** The claims of an ID token that matter for federation, decoded but never verified. */
export interface IdTokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number | undefined;
  alg: string | undefined;
  payload: JWTPayload;
}

/** CI-specific claims worth showing, in the order people read them. */
const CONTEXT_CLAIMS = [
  'repository',
  'ref',
  'environment',
  'event_name',
  'job_workflow_ref',
  'runner_environment',
  'repository_id',
  'repository_owner_id',
] as const;

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Decodes an ID token. We are not its audience, so we never verify it; Databricks or Entra
 * will. Anything that is not a JWT fails here, before it is sent anywhere.
 */
export function decodeIdToken(jwt: string, source: string): IdTokenClaims {
  let payload: JWTPayload;
  let alg: string | undefined;
  try {
    // Base64url parts and dots only: an ID token may become the bearer token that is printed.
    if (!JWT_SHAPE.test(jwt)) throw new Error('not a JWT');
    payload = decodeJwt(jwt);
    alg = decodeProtectedHeader(jwt).alg;
  } catch {
    throw new LoginError(
      'ID_TOKEN_MALFORMED',
      `Failed to read the ID token from ${source}: it is not a JWT`,
      {
        hint: `Check that ${source} returns an OIDC ID token (three base64url parts separated by dots).`,
      },
    );
  }
  const aud = payload.aud === undefined ? [] : Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  return {
    iss: typeof payload.iss === 'string' ? payload.iss : '',
    sub: typeof payload.sub === 'string' ? payload.sub : '',
    aud: aud.filter((a): a is string => typeof a === 'string'),
    exp: typeof payload.exp === 'number' ? payload.exp : undefined,
    alg,
    payload,
  };
}

/** Formats a duration for people: "4 min 58 s", "58 s", "1 h 2 min". */
export function describeDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${s} s`;
  return `${s} s`;
}

/** Claim values come from the token: make them safe to print. */
function printable(value: unknown): string {
  return printableLine(typeof value === 'string' ? value : (JSON.stringify(value) ?? ''));
}

/** Describes the claims in plain lines: iss, sub, aud, exp and the CI's context claims. */
export function describeClaims(claims: IdTokenClaims, now = Date.now()): string[] {
  const lines = [
    `issuer   (iss): ${printable(claims.iss)}`,
    `subject  (sub): ${printable(claims.sub)}`,
    `audience (aud): ${claims.aud.map(printable).join(', ')}`,
  ];
  if (claims.exp !== undefined) {
    const left = claims.exp * 1000 - now;
    const when = new Date(claims.exp * 1000).toISOString();
    lines.push(
      `expires  (exp): ${when} (${left >= 0 ? `in ${describeDuration(left)}` : `${describeDuration(-left)} ago`})`,
    );
  }
  for (const name of CONTEXT_CLAIMS) {
    const value = claims.payload[name];
    if (value !== undefined && value !== '') lines.push(`${name}: ${printable(value)}`);
  }
  const azureDevOps = /^(p|sc):\/\/([^/]+)\/([^/]+)\/(.+)$/.exec(claims.sub);
  if (azureDevOps) {
    const kind = azureDevOps[1] === 'p' ? 'pipeline' : 'service connection';
    lines.push(
      `organization: ${printable(azureDevOps[2])}, project: ${printable(azureDevOps[3])}, ${kind}: ${printable(azureDevOps[4])}`,
    );
  }
  return lines;
}
