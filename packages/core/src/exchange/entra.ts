import { describeClaims, type IdTokenClaims } from '../explain/claims.ts';
import { formBody, type HttpClient, parseJsonObject } from '../net/http.ts';
import { LoginError } from '../safe-output/errors.ts';
import { looksLikeHtml, serverSays } from '../safe-output/server-answer.ts';
import { type Credential, readTokenResponse } from './credential.ts';

/** The Azure Databricks first-party application; its `.default` scope yields a workspace token. */
export const AZURE_DATABRICKS_SCOPE = '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default';
export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';

export interface EntraAttempt {
  authorityHost: string;
  tenantId: string;
  clientId: string;
  claims: IdTokenClaims;
}

/** `<authority>/<tenant>/oauth2/v2.0/token`; the authority keeps its path (ADFS, Azure Stack). */
export function entraTokenEndpoint(authorityHost: string, tenantId: string): string {
  return `${authorityHost.replace(/\/+$/, '')}/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`;
}

/** The AADSTS codes we can explain, with what to change. */
function explainAadsts(codes: number[], attempt: EntraAttempt): string | undefined {
  if (codes.includes(70021) || codes.includes(700213) || codes.includes(700212)) {
    return `Add a federated credential to the app registration or managed identity ${attempt.clientId} with exactly this issuer, subject and audience (see below).`;
  }
  if (codes.includes(700024) || codes.includes(700027)) {
    return 'The ID token had expired or was not yet valid when Entra ID checked it: check the runner clock, and that nothing delays this step after the token is fetched.';
  }
  if (codes.includes(700016)) {
    return `No application ${attempt.clientId} exists in tenant ${attempt.tenantId}: check client-id (the app's Application (client) ID) and tenant-id.`;
  }
  if (codes.includes(90002) || codes.includes(900023)) {
    return `Tenant ${attempt.tenantId} was not found: check tenant-id (a GUID or a domain such as contoso.onmicrosoft.com) and authority-host.`;
  }
  return undefined;
}

/**
 * Exchanges an ID token for an Azure Databricks token at Microsoft Entra ID, as a workload
 * identity federation client assertion (client_credentials with a jwt-bearer assertion).
 */
export async function exchangeWithEntra(
  http: HttpClient,
  idToken: string,
  attempt: EntraAttempt,
): Promise<Credential> {
  const endpoint = entraTokenEndpoint(attempt.authorityHost, attempt.tenantId);
  const step = 'exchange the ID token with Microsoft Entra ID';
  const response = await http.send({
    method: 'POST',
    url: endpoint,
    step,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: formBody({
      grant_type: 'client_credentials',
      client_id: attempt.clientId,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: idToken,
      scope: AZURE_DATABRICKS_SCOPE,
    }),
  });
  if (response.status === 200) return readTokenResponse(response, step, endpoint);
  if (response.status >= 400 && response.status < 500 && !looksLikeHtml(response)) {
    const body = parseJsonObject(response.body);
    const codes = Array.isArray(body?.error_codes)
      ? body.error_codes.filter((c): c is number => typeof c === 'number')
      : [];
    const described = /AADSTS(\d+)/.exec(String(body?.error_description ?? ''));
    if (described?.[1]) codes.push(Number(described[1]));
    const aadsts = codes.length > 0 ? `AADSTS${codes[0]}` : `HTTP ${response.status}`;
    const credential = {
      name: 'databricks-oidc-login',
      issuer: attempt.claims.iss,
      subject: attempt.claims.sub,
      audiences: attempt.claims.aud.length > 0 ? attempt.claims.aud : ['api://AzureADTokenExchange'],
    };
    throw new LoginError(
      'ENTRA_REJECTED',
      `Failed to ${step}: Entra ID refused it (${aadsts}: ${serverSays(response)})`,
      {
        hint:
          explainAadsts(codes, attempt) ??
          `Check tenant-id, client-id and the federated credentials of ${attempt.clientId} against the token below.`,
        evidence: [
          'The ID token that was sent:',
          ...describeClaims(attempt.claims).map((l) => `  ${l}`),
          `client_id: ${attempt.clientId}, tenant: ${attempt.tenantId}, endpoint: ${endpoint}`,
          'A federated credential that accepts this token:',
          `  az ad app federated-credential create --id ${attempt.clientId} --parameters '${JSON.stringify(credential).replace(/'/g, `'\\''`)}'`,
        ],
      },
    );
  }
  throw new LoginError(
    looksLikeHtml(response) ? 'NOT_DATABRICKS' : 'SERVER_ERROR',
    `Failed to ${step}: ${endpoint} answered HTTP ${response.status} (${serverSays(response)})`,
    {
      hint: 'Check authority-host (default https://login.microsoftonline.com) and tenant-id; re-run if Entra ID had an outage.',
    },
  );
}
