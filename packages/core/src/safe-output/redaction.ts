/**
 * Runs of base64url characters and dots: every JWT lies inside one. Each run is matched once and
 * then inspected by splitting, so the cost stays linear in the text whatever it holds (patterns
 * like `eyJ[...]*\.` backtrack quadratically on hostile input such as `eyJeyJeyJ...`).
 */
const DOTTED_RUN = /[A-Za-z0-9_.-]+/g;
/** Databricks personal access tokens. */
const PAT_PATTERN = /dapi[0-9a-f]{32}(?:-\d+)?/g;
/** Values of credential-carrying fields in JSON, forms or headers. */
const CREDENTIAL_FIELD_PATTERN =
  /(\b(?:access_token|refresh_token|id_token|subject_token|client_assertion|client_secret|oidcToken|accessToken|subjectToken)["']?\s*[:=]\s*["']?)[^"'&\s,}]+/gi;
/** JSON members named plainly "token" or "value" (GitHub's ID token answer), only when quoted. */
const QUOTED_TOKEN_PATTERN = /("(?:token|value)"\s*:\s*")[^"]+/gi;
const BEARER_PATTERN = /(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi;
/** HTTP Basic credentials (OAuth M2M sends client_id:client_secret this way). */
const BASIC_PATTERN = /(Basic\s+)[A-Za-z0-9+/=]{8,}/gi;

const REDACTED = '***';

/**
 * True when a dotted run holds three segments shaped like a JWT: a header segment containing
 * `eyJ` (base64url of `{"`) followed by a non-empty one and a third, or three long segments
 * (a header with spaces does not start with `eyJ`).
 */
function holdsJwt(run: string): boolean {
  const parts = run.split('.');
  for (let i = 0; i + 2 < parts.length; i++) {
    const [a = '', b = '', c = ''] = [parts[i], parts[i + 1], parts[i + 2]];
    if (b.length > 0 && a.includes('eyJ')) return true;
    if (a.length >= 20 && b.length >= 20 && c.length >= 16) return true;
  }
  return false;
}

/**
 * Removes anything that looks like a credential from text we did not write ourselves, such
 * as a server's error body, even when that credential was never registered.
 */
export function redactCredentialShapes(text: string): string {
  return text
    .replace(DOTTED_RUN, (run) => (run.includes('.') && holdsJwt(run) ? '[redacted JWT]' : run))
    .replace(PAT_PATTERN, '[redacted token]')
    .replace(BASIC_PATTERN, (_m, key: string) => `${key}${REDACTED}`)
    .replace(CREDENTIAL_FIELD_PATTERN, (_m, key: string) => `${key}${REDACTED}`)
    .replace(QUOTED_TOKEN_PATTERN, (_m, key: string) => `${key}${REDACTED}`)
    .replace(BEARER_PATTERN, (_m, key: string) => `${key}${REDACTED}`);
}

/**
 * The one registry of secrets in a run. Registering a secret first hands it to the CI's
 * log masker (through `onRegister`), so the runner masks it before we could print it.
 */
export class SecretRegistry {
  readonly #secrets = new Set<string>();
  readonly #onRegister: ((secret: string) => void) | undefined;

  constructor(onRegister?: (secret: string) => void) {
    this.#onRegister = onRegister;
  }

  /** Registers a secret; values shorter than 6 characters are ignored (masking them would garble logs). */
  register(secret: string | undefined): void {
    if (!secret || secret.length < 6 || this.#secrets.has(secret)) return;
    this.#secrets.add(secret);
    this.#onRegister?.(secret);
  }

  /** Drops a secret that can no longer appear (an expired token), so a long-running service stays bounded. */
  forget(secret: string): void {
    this.#secrets.delete(secret);
  }

  /** How many secrets are registered. */
  get size(): number {
    return this.#secrets.size;
  }

  /** Replaces every registered secret, then every credential-shaped string. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.#secrets) out = out.split(secret).join(REDACTED);
    return redactCredentialShapes(out);
  }
}
