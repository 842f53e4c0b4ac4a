import { LoginError } from '../explain/errors.ts';
import { printableLine } from '../explain/printable.ts';
import { excerpt, serverSays } from '../explain/server-answer.ts';
import { type HttpClient, parseJsonObject } from '../net/http.ts';

/**
 * Asks the workspace who the token belongs to (`GET /api/2.0/preview/scim/v2/Me`), proving the
 * token works before later steps rely on it. Returns the principal's userName.
 */
export async function verifyWorkspaceToken(
  http: HttpClient,
  host: string,
  token: string,
  refusalHint?: string,
): Promise<string> {
  const step = 'verify the Databricks token';
  const url = `${host}/api/2.0/preview/scim/v2/Me`;
  const response = await http.send({
    method: 'GET',
    url,
    step,
    headers: { authorization: `Bearer ${token}` },
  });
  if (response.status === 401 || response.status === 403) {
    throw new LoginError(
      'VERIFY_FAILED',
      `Failed to ${step}: the workspace refused it (HTTP ${response.status}: ${serverSays(response)})`,
      {
        hint:
          refusalHint ??
          'The exchange worked, but this workspace does not accept the principal. Add the service principal to the workspace ' +
            '(workspace settings, Identity and access) and make sure the workspace is assigned to the account that holds the policy. ' +
            'Set verify: false to skip this check.',
      },
    );
  }
  const body = response.status === 200 ? parseJsonObject(response.body) : undefined;
  const name = body?.userName ?? body?.displayName ?? body?.id;
  if (typeof name !== 'string' || name === '') {
    throw new LoginError(
      'RESPONSE_MALFORMED',
      `Failed to ${step}: ${url} answered HTTP ${response.status} without a userName`,
      {
        hint: `Check that host is a Databricks workspace. The answer began: ${excerpt(response.body)}`,
      },
    );
  }
  // A principal name is an e-mail or an ID: one printable line, whatever the server sent.
  return printableLine(name, 300);
}
