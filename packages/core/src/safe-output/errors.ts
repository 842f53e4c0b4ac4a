import { releaseDocumentUrl } from '../release.ts';

/** Where every error code is explained, with its fix, in the docs of the release that is running. */
export const TROUBLESHOOTING_URL = releaseDocumentUrl('TROUBLESHOOTING.md');

/**
 * Stable error codes. Users and TROUBLESHOOTING.md key on these, so never rename one.
 */
export type LoginErrorCode =
  | 'HOST_MISSING'
  | 'HOST_INVALID'
  | 'HOST_INSECURE'
  | 'INPUT_INVALID'
  | 'ID_TOKEN_UNAVAILABLE'
  | 'ID_TOKEN_REQUEST_FAILED'
  | 'ID_TOKEN_MALFORMED'
  | 'ID_TOKEN_EXPIRED'
  | 'EXCHANGE_REJECTED'
  | 'ENTRA_REJECTED'
  | 'GOOGLE_STS_REJECTED'
  | 'GOOGLE_IAM_REJECTED'
  | 'NOT_DATABRICKS'
  | 'RESPONSE_MALFORMED'
  | 'RESPONSE_TOO_LARGE'
  | 'TIMEOUT'
  | 'NETWORK_ERROR'
  | 'PROXY_FAILED'
  | 'TLS_CERTIFICATE_REJECTED'
  | 'TOKEN_EXPIRED'
  | 'SERVER_ERROR'
  | 'VERIFY_FAILED'
  | 'METADATA_SERVICE_FAILED'
  | 'CREDENTIALS_MISSING'
  | 'CLIENT_CREDENTIALS_REJECTED'
  | 'PAT_REJECTED'
  | 'WORKSPACE_ID_REQUIRED';

export interface LoginErrorDetails {
  /** What to change, and where. */
  hint: string;
  /** Redacted evidence shown under the message: claims, server answers, a policy to create. */
  evidence?: string[] | undefined;
  cause?: unknown;
}

/**
 * The one error type of the project. `message` follows "Failed to <step>: <cause>".
 */
export class LoginError extends Error {
  override readonly name = 'LoginError';
  readonly code: LoginErrorCode;
  readonly hint: string;
  readonly evidence: readonly string[];

  constructor(code: LoginErrorCode, message: string, details: LoginErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.hint = details.hint;
    this.evidence = details.evidence ?? [];
  }

  /** The link to this code's section of TROUBLESHOOTING.md. */
  get helpUrl(): string {
    return `${TROUBLESHOOTING_URL}#${this.code.toLowerCase()}`;
  }
}

/**
 * Renders any thrown value as the one error a user sees: message, evidence, fix and link.
 * Unknown errors keep their message but never their stack.
 */
export function describeFailure(error: unknown): string {
  if (error instanceof LoginError) {
    const lines = [`${error.message} [${error.code}]`, `Fix: ${error.hint}`];
    if (error.evidence.length > 0) lines.push(...error.evidence);
    lines.push(`More: ${error.helpUrl}`);
    return lines.join('\n');
  }
  const message = error instanceof Error ? error.message : String(error);
  return `Failed to log in to Databricks: unexpected error: ${message}`;
}
