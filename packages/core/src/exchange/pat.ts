import type { HttpClient } from '../net/http.ts';
import { LoginError } from '../safe-output/errors.ts';
import { verifyWorkspaceToken } from './verify.ts';

/**
 * Checks a personal access token with SCIM Me and returns its principal. A refusal explains
 * the usual causes of a dead PAT (expired, revoked after 90 days unused, another workspace).
 */
export async function verifyPersonalAccessToken(
  http: HttpClient,
  host: string,
  pat: string,
  headers: Record<string, string> = {},
): Promise<string> {
  try {
    return await verifyWorkspaceToken(http, host, pat, { headers });
  } catch (error) {
    if (!(error instanceof LoginError) || error.code !== 'VERIFY_FAILED') throw error;
    throw new LoginError(
      'PAT_REJECTED',
      error.message.replace('verify the Databricks token', 'verify the personal access token'),
      {
        hint:
          `The token is expired or revoked (Databricks revokes tokens unused for 90 days), or it belongs to another workspace than ${host}. ` +
          'Create a new one in that workspace (Settings > Developer > Access tokens) and update the CI secret, or better, switch to OIDC, which needs no stored secret.',
      },
    );
  }
}
