import { describeUrl, parseJsonObject } from '../net/http.ts';
import { LoginError } from '../safe-output/errors.ts';
import type { IdTokenSource } from './id-token-source.ts';

const MISSING_GITHUB_VARIABLES_HINT =
  'Add `permissions: id-token: write` to the workflow or job (with `contents: read` if you check out code). ' +
  'GitHub gives no ID token to pull requests from forks or to Dependabot runs: run this step on push, ' +
  'pull_request_target with care, or a trusted environment instead.';

/**
 * GitHub Actions: `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=...` with the request token.
 * Throws at once, before any request, when the runner gave the job no ID-token variables.
 */
export function githubIdTokenSource(
  requestUrl: string | undefined,
  requestToken: string | undefined,
): IdTokenSource {
  if (!requestUrl || !requestToken) {
    const missing = [
      !requestUrl && 'ACTIONS_ID_TOKEN_REQUEST_URL',
      !requestToken && 'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
    ]
      .filter(Boolean)
      .join(' and ');
    throw new LoginError(
      'ID_TOKEN_UNAVAILABLE',
      `Failed to get an ID token from GitHub Actions: ${missing} ${missing.includes(' and ') ? 'are' : 'is'} not set, so this job may not request one`,
      { hint: MISSING_GITHUB_VARIABLES_HINT },
    );
  }
  return {
    description: 'GitHub Actions',
    async getIdToken(audience, http) {
      const url = new URL(requestUrl);
      url.searchParams.set('audience', audience);
      const step = 'get an ID token from GitHub Actions';
      const response = await http.send({
        method: 'GET',
        url: url.href,
        step,
        headers: { authorization: `Bearer ${requestToken}` },
      });
      if (response.status === 401 || response.status === 403) {
        throw new LoginError(
          'ID_TOKEN_REQUEST_FAILED',
          `Failed to ${step}: the runner refused the request (HTTP ${response.status})`,
          {
            hint: MISSING_GITHUB_VARIABLES_HINT,
          },
        );
      }
      const value = response.status === 200 ? parseJsonObject(response.body)?.value : undefined;
      if (typeof value !== 'string' || value === '') {
        throw new LoginError(
          response.status === 200 ? 'RESPONSE_MALFORMED' : 'ID_TOKEN_REQUEST_FAILED',
          `Failed to ${step}: ${describeUrl(url.href)} answered HTTP ${response.status} without a token`,
          {
            hint: 'This is a problem on the GitHub side; re-run the job. If it persists, check githubstatus.com.',
          },
        );
      }
      return value;
    },
  };
}
