import { isTokenShaped } from './exchange/credential.ts';
import { assertPrintable } from './net/host.ts';
import { LoginError } from './safe-output/errors.ts';
import type { Logger } from './safe-output/logger.ts';
import type { IdTokenSource } from './sources/id-token-source.ts';

/** How to authenticate: OIDC first; M2M and PAT are explicit or explained fallbacks. */
export type AuthType = 'auto' | 'oidc' | 'm2m' | 'pat';
/** The method a login actually used: the `auth-type` output. */
export type AuthMethod = Exclude<AuthType, 'auto'>;
export const AUTH_TYPES: readonly AuthType[] = ['auto', 'oidc', 'm2m', 'pat'];

/**
 * A token source, or a function that builds one and throws ID_TOKEN_UNAVAILABLE when the job has
 * none (GitHub without `id-token: write`, a fork, Dependabot). Only auth-type auto survives that
 * throw, by falling back; an explicit oidc reports it.
 */
export type IdTokenSourceOption = IdTokenSource | (() => IdTokenSource);

/** What each front end calls the inputs, so messages point at the field the user edits. */
export interface CredentialInputNames {
  authType: string;
  clientId: string;
  clientSecret: string;
  pat: string;
  /** The workspace ID input. */
  workspaceId: string;
}

/** The GitHub Action's spelling, the default; Azure DevOps and the CLI pass their own. */
export const GITHUB_INPUT_NAMES: CredentialInputNames = {
  authType: 'auth-type',
  clientId: 'client-id',
  clientSecret: 'client-secret',
  pat: 'pat',
  workspaceId: 'workspace-id',
};

export type AuthChoice =
  | { method: 'oidc'; idTokenSource: IdTokenSource }
  | { method: 'm2m'; clientId: string; clientSecret: string }
  | { method: 'pat'; pat: string };

export interface AuthRequest {
  authType?: string | undefined;
  idTokenSource: IdTokenSourceOption;
  /** Already validated (a UUID) by planLogin. */
  clientId: string | undefined;
  clientSecret?: string | undefined;
  pat?: string | undefined;
  names?: Partial<CredentialInputNames> | undefined;
}

/**
 * Picks the method, strongest first, before any request: OIDC when the job can get an ID token,
 * else OAuth M2M, else a PAT (auth-type auto), or exactly the one asked for. An explicit choice
 * with a missing prerequisite is an error, never a downgrade. A fallback is a warning that says
 * why OIDC was not possible and how to enable it.
 */
export function chooseAuthMethod(request: AuthRequest, log: Logger): AuthChoice {
  const names = { ...GITHUB_INPUT_NAMES, ...request.names };
  const authType = readAuthType(names.authType, request.authType);
  const clientId = request.clientId;
  const clientSecret = readSecret(names.clientSecret, request.clientSecret);
  const pat = readSecret(names.pat, request.pat);

  if (authType === 'oidc') return { method: 'oidc', idTokenSource: buildSource(request.idTokenSource) };
  if (authType === 'm2m') {
    if (!clientId || !clientSecret) {
      throw new LoginError(
        'CREDENTIALS_MISSING',
        `Failed to use ${names.authType} m2m: ${!clientId ? `${names.clientId} is empty` : `${names.clientSecret} is empty`}`,
        {
          hint: `OAuth M2M needs the service principal's application ID in ${names.clientId} and one of its OAuth secrets in ${names.clientSecret}, passed from a secret store. Or set ${names.authType} to auto or oidc.`,
        },
      );
    }
    return { method: 'm2m', clientId, clientSecret };
  }
  if (authType === 'pat') {
    if (!pat) {
      throw new LoginError(
        'CREDENTIALS_MISSING',
        `Failed to use ${names.authType} pat: ${names.pat} is empty`,
        {
          hint: `Pass a personal access token in ${names.pat} from a secret store, or better, set ${names.authType} to auto or oidc and use OIDC, which needs no stored secret.`,
        },
      );
    }
    return { method: 'pat', pat: tokenShapedPat(names.pat, pat) };
  }

  // auto: OIDC whenever the job can get an ID token; a later OIDC failure never falls back.
  let unavailable: LoginError;
  try {
    const idTokenSource = buildSource(request.idTokenSource);
    const unused = [clientSecret && names.clientSecret, pat && names.pat].filter(Boolean);
    if (unused.length > 0)
      log.info(`${names.authType} auto: using OIDC, the strongest method; ${unused.join(' and ')} not used.`);
    return { method: 'oidc', idTokenSource };
  } catch (error) {
    if (!(error instanceof LoginError) || error.code !== 'ID_TOKEN_UNAVAILABLE') throw error;
    unavailable = error;
  }
  const why = `OIDC is not possible in this job (${unavailable.message})`;
  const enable = `To use OIDC, which needs no stored secret: ${unavailable.hint}`;
  if (clientId && clientSecret) {
    log.warn(
      `${why}, so ${names.authType} auto falls back to OAuth M2M with the secret of service principal ${clientId}. ${enable}`,
    );
    return { method: 'm2m', clientId, clientSecret };
  }
  if (pat) {
    log.warn(
      `${why}, so ${names.authType} auto falls back to the personal access token in ${names.pat}. ${enable}`,
    );
    return { method: 'pat', pat: tokenShapedPat(names.pat, pat) };
  }
  throw new LoginError(
    'CREDENTIALS_MISSING',
    'Failed to find credentials: this job has no ID token, no client secret and no personal access token',
    {
      hint:
        `Enable one of these, strongest first. 1) OIDC: ${unavailable.hint} ` +
        `2) OAuth M2M: set ${names.clientId} to the service principal's application ID and ${names.clientSecret} to one of its OAuth secrets, from a secret store. ` +
        `3) A personal access token in ${names.pat}, from a secret store (legacy).`,
      evidence: [
        `OIDC: ${unavailable.message}`,
        ...unavailable.evidence.map((line) => `  ${line}`),
        clientSecret && !clientId
          ? `OAuth M2M: ${names.clientSecret} is set but ${names.clientId} is empty`
          : `OAuth M2M: ${names.clientSecret} is empty`,
        `PAT: ${names.pat} is empty`,
      ],
    },
  );
}

function buildSource(option: IdTokenSourceOption): IdTokenSource {
  return typeof option === 'function' ? option() : option;
}

function readAuthType(name: string, raw: string | undefined): AuthType {
  const value = (raw ?? '').trim() || 'auto';
  if ((AUTH_TYPES as readonly string[]).includes(value)) return value as AuthType;
  assertPrintable(name, value);
  throw new LoginError('INPUT_INVALID', `Failed to read input ${name}: "${value}" is not supported`, {
    hint: `Set ${name} to one of: ${AUTH_TYPES.join(', ')}.`,
  });
}

/**
 * A PAT is exported and printed as it is, so it must have a token's shape like every other token
 * (letters, digits, `. ~ + / = - _`); never echoed.
 */
function tokenShapedPat(name: string, pat: string): string {
  if (isTokenShaped(pat)) return pat;
  throw new LoginError(
    'INPUT_INVALID',
    `Failed to read input ${name}: it holds characters no personal access token has`,
    {
      hint: `Check the secret that ${name} comes from: a personal access token is letters, digits and - (dapi...), with no quotes, $, backticks or other punctuation.`,
    },
  );
}

/** A secret input, trimmed (pasted secrets often end in a newline); never echoed. */
function readSecret(name: string, raw: string | undefined): string | undefined {
  const value = (raw ?? '').trim();
  if (!value) return undefined;
  assertPrintable(name, value);
  if (/\s/.test(value)) {
    throw new LoginError('INPUT_INVALID', `Failed to read input ${name}: it contains whitespace`, {
      hint: `Check the secret that ${name} comes from: it should be one token with no spaces.`,
    });
  }
  return value;
}
