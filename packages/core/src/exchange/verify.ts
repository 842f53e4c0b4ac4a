import { type HttpClient, parseJsonObject } from '../net/http.ts';
import { LoginError } from '../safe-output/errors.ts';
import { printableLine } from '../safe-output/printable.ts';
import { answerBegins, looksLikeHtml, serverSays } from '../safe-output/server-answer.ts';

export interface VerifyOptions {
  /** What to change when the workspace refuses the principal. */
  refusalHint?: string | undefined;
  /** A unified host's X-Databricks-Workspace-Id. */
  headers?: Record<string, string> | undefined;
  /** How this front end spells the workspace ID input. */
  workspaceIdName?: string | undefined;
}

/**
 * Asks the workspace who the token belongs to (`GET /api/2.0/preview/scim/v2/Me`), proving the
 * token works before later steps rely on it. Returns the principal's userName.
 */
export async function verifyWorkspaceToken(
  http: HttpClient,
  host: string,
  token: string,
  options: VerifyOptions = {},
): Promise<string> {
  const step = 'verify the Databricks token';
  const url = `${host}/api/2.0/preview/scim/v2/Me`;
  const response = await http.send({
    method: 'GET',
    url,
    step,
    headers: { ...options.headers, authorization: `Bearer ${token}` },
  });
  if (looksLikeHtml(response)) {
    // A unified host answers a call it cannot route with its sign-in page: never quote it.
    const routed = options.headers?.['x-databricks-workspace-id'];
    const name = options.workspaceIdName ?? 'workspace-id';
    throw new LoginError(
      'NOT_DATABRICKS',
      `Failed to ${step}: ${url} answered HTTP ${response.status} with a web page (a sign-in page, not quoted): the request was not routed to a workspace`,
      {
        hint: routed
          ? `The host did not route workspace ID ${routed} to a workspace. Check ${name} (the number after ?o= or ?w= in the workspace URL), and that the workspace belongs to this host's account.`
          : `Check that host is your workspace URL as the browser shows it. On a unified host (one URL for the account and its workspaces), add the workspace: ?w=<workspace ID> in the host, or set ${name}.`,
      },
    );
  }
  if (response.status === 401 || response.status === 403) {
    throw new LoginError(
      'VERIFY_FAILED',
      `Failed to ${step}: the workspace refused it (HTTP ${response.status}: ${serverSays(response)})`,
      {
        hint:
          options.refusalHint ??
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
        hint: `Check that host is a Databricks workspace. The answer began: ${answerBegins(response)}`,
      },
    );
  }
  // A principal name is an e-mail or an ID: one printable line, whatever the server sent.
  return printableLine(name, 300);
}
