import { decodeJwt } from 'jose';
import { describeGoogleAttempt, iamGrantHint, providerHint } from '../explain/google-hint.ts';
import { assertPrintable, normalizeHost } from '../net/host.ts';
import { type HttpClient, type HttpResponse, parseJsonObject } from '../net/http.ts';
import { LoginError } from '../safe-output/errors.ts';
import type { SecretRegistry } from '../safe-output/redaction.ts';
import { answerBegins, excerpt } from '../safe-output/server-answer.ts';
import { assertUsableLifetime, type Credential, isTokenShaped, malformedTokenAnswer } from './credential.ts';
import { type GoogleAttempt, type GooglePlan, parseWorkloadIdentityProvider } from './google-attempt.ts';

export const DEFAULT_GOOGLE_STS_URL = 'https://sts.googleapis.com/v1/token';
export const DEFAULT_GOOGLE_IAM_CREDENTIALS_URL = 'https://iamcredentials.googleapis.com';
/** The accounts console of Databricks on Google Cloud, and the audience of account-level Google ID tokens. */
export const GCP_ACCOUNTS_HOST = 'https://accounts.gcp.databricks.com';
const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** The Google ID token for Databricks, and the access token when it was asked for. */
export interface GoogleCredentials {
  idToken: Credential;
  accessToken: Credential | undefined;
}

/** An endpoint URL from the environment: validated like a host (https, or http on loopback), path kept. */
function endpointUrl(name: string, raw: string | undefined, fallback: string): string {
  const value = (raw ?? '').trim();
  if (!value) return fallback;
  const origin = normalizeHost(value, name);
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`;
  return `${origin}${new URL(withScheme).pathname.replace(/\/+$/, '')}`;
}

/** Validates the provider-google inputs and works out the endpoints. Throws before any request. */
export function planGoogleLogin(
  options: {
    workloadIdentityProvider?: string | undefined;
    serviceAccount?: string | undefined;
    googleAccessToken?: boolean | undefined;
  },
  host: string,
  env: NodeJS.ProcessEnv = process.env,
): GooglePlan {
  const provider = (options.workloadIdentityProvider ?? '').trim();
  const serviceAccount = (options.serviceAccount ?? '').trim();
  if (!provider || !serviceAccount) {
    const missing = !provider ? 'workload-identity-provider' : 'service-account';
    throw new LoginError(
      'INPUT_INVALID',
      `Failed to read the Google settings: provider google needs ${missing}`,
      {
        hint:
          'Set workload-identity-provider to projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER ' +
          'and service-account to the e-mail of the Google service account that is a user of the workspace (workloadIdentityProvider and serviceAccount on Azure DevOps).',
      },
    );
  }
  assertPrintable('workload-identity-provider', provider);
  assertPrintable('service-account', serviceAccount);
  const parsed = parseWorkloadIdentityProvider(provider);
  if (!parsed) {
    throw new LoginError(
      'INPUT_INVALID',
      `Failed to read input workload-identity-provider: "${provider}" is not a workload identity provider name`,
      {
        hint: 'Use the full name, projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER, as `gcloud iam workload-identity-pools providers describe PROVIDER --workload-identity-pool=POOL --location=global --format="value(name)"` prints it.',
      },
    );
  }
  if (!/^\d+$/.test(parsed.project)) {
    throw new LoginError(
      'INPUT_INVALID',
      `Failed to read input workload-identity-provider: "${parsed.project}" is a project ID, but Google STS needs the project number`,
      {
        hint: `Replace it with the number that \`gcloud projects describe ${parsed.project} --format="value(projectNumber)"\` prints.`,
      },
    );
  }
  if (!/^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+$/.test(serviceAccount)) {
    throw new LoginError(
      'INPUT_INVALID',
      `Failed to read input service-account: "${serviceAccount}" is not a service account e-mail`,
      {
        hint: 'Set service-account to an e-mail such as databricks-deployer@my-project.iam.gserviceaccount.com.',
      },
    );
  }
  return {
    workloadIdentityProvider: parsed.name,
    serviceAccount,
    stsUrl: endpointUrl('GOOGLE_STS_URL', env.GOOGLE_STS_URL, DEFAULT_GOOGLE_STS_URL),
    iamCredentialsUrl: endpointUrl(
      'GOOGLE_IAM_CREDENTIALS_URL',
      env.GOOGLE_IAM_CREDENTIALS_URL,
      DEFAULT_GOOGLE_IAM_CREDENTIALS_URL,
    ),
    idTokenAudience: host,
    accessToken: options.googleAccessToken ?? false,
  };
}

/** Google APIs answer `{error: {code, message, status, details: [{reason}]}}`; STS answers OAuth style. */
function googleSays(response: HttpResponse): { text: string; reason: string | undefined } {
  const body = parseJsonObject(response.body);
  const error = body?.error;
  if (error !== null && typeof error === 'object' && !Array.isArray(error)) {
    const e = error as Record<string, unknown>;
    const details = Array.isArray(e.details) ? (e.details as unknown[]) : [];
    const reason = details
      .map((d) => (d !== null && typeof d === 'object' ? (d as Record<string, unknown>).reason : undefined))
      .find((r): r is string => typeof r === 'string');
    const parts = [e.status, e.message].filter((p): p is string => typeof p === 'string' && p !== '');
    return { text: excerpt(parts.join(': ') || response.body, 300), reason };
  }
  const parts = [body?.error, body?.error_description].filter(
    (p): p is string => typeof p === 'string' && p !== '',
  );
  return {
    text: parts.length > 0 ? excerpt(parts.join(': '), 300) : excerpt(response.body),
    reason: typeof body?.error === 'string' ? body.error : undefined,
  };
}

const GOOGLE_MALFORMED_HINT =
  "Check GOOGLE_STS_URL and GOOGLE_IAM_CREDENTIALS_URL (unset means Google's own) and that no proxy rewrites the answer.";

/** A missing or non-token-shaped field of a Google answer (see isTokenShaped). */
function malformed(step: string, where: string, response: HttpResponse, field: string): LoginError {
  return malformedTokenAnswer(step, where, response, field, GOOGLE_MALFORMED_HINT);
}

function serverError(step: string, where: string, response: HttpResponse): LoginError {
  return new LoginError(
    'SERVER_ERROR',
    `Failed to ${step}: ${where} answered HTTP ${response.status} (${googleSays(response).text})`,
    {
      hint: 'Google had a problem; retries did not help. Re-run the job, and check status.cloud.google.com if it persists.',
    },
  );
}

/** Google STS: the CI's ID token for a federated access token of the pool's principal (RFC 8693 in JSON). */
async function exchangeAtSts(http: HttpClient, idToken: string, attempt: GoogleAttempt): Promise<string> {
  const { plan } = attempt;
  const step = 'exchange the ID token at Google STS';
  const response = await http.send({
    method: 'POST',
    url: plan.stsUrl,
    step,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      audience: `//iam.googleapis.com/${plan.workloadIdentityProvider}`,
      grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
      requestedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
      scope: CLOUD_PLATFORM_SCOPE,
      subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt',
      subjectToken: idToken,
    }),
  });
  if (response.status === 200) {
    const token = parseJsonObject(response.body)?.access_token;
    if (!isTokenShaped(token)) throw malformed(step, plan.stsUrl, response, 'access_token');
    return token;
  }
  if (response.status >= 400 && response.status < 500) {
    const says = googleSays(response);
    throw new LoginError(
      'GOOGLE_STS_REJECTED',
      `Failed to ${step}: Google STS refused it (HTTP ${response.status}: ${says.text})`,
      {
        hint: providerHint(says.reason, attempt),
        evidence: describeGoogleAttempt(attempt, 'sts'),
      },
    );
  }
  throw serverError(step, plan.stsUrl, response);
}

/** One IAM Credentials call for the service account, authorised by the federated token. */
async function callIamCredentials(
  http: HttpClient,
  federatedToken: string,
  method: 'generateIdToken' | 'generateAccessToken',
  body: unknown,
  attempt: GoogleAttempt,
): Promise<{ answer: Record<string, unknown>; response: HttpResponse; url: string }> {
  const { plan } = attempt;
  const what = method === 'generateIdToken' ? 'a Google ID token' : 'a Google access token';
  const step = `get ${what} for ${plan.serviceAccount} from IAM Credentials`;
  const url = `${plan.iamCredentialsUrl}/v1/projects/-/serviceAccounts/${plan.serviceAccount}:${method}`;
  const response = await http.send({
    method: 'POST',
    url,
    step,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${federatedToken}` },
    body: JSON.stringify(body),
  });
  if (response.status === 200) return { answer: parseJsonObject(response.body) ?? {}, response, url };
  if (response.status >= 400 && response.status < 500) {
    const says = googleSays(response);
    throw new LoginError(
      'GOOGLE_IAM_REJECTED',
      `Failed to ${step}: IAM Credentials refused it (HTTP ${response.status}: ${says.text})`,
      {
        hint: iamGrantHint(response.status, says.reason, method, attempt),
        evidence: describeGoogleAttempt(attempt, method),
      },
    );
  }
  throw serverError(step, url, response);
}

/**
 * Provider google: the CI's ID token goes to Google STS for a federated token, which asks IAM
 * Credentials for a Google ID token of the service account (audience: the Databricks host), and
 * optionally a cloud-platform access token. Each secret is registered the moment it exists.
 */
export async function exchangeWithGoogle(
  http: HttpClient,
  idToken: string,
  attempt: GoogleAttempt,
  secrets: SecretRegistry,
): Promise<GoogleCredentials> {
  const { plan } = attempt;
  const federated = await exchangeAtSts(http, idToken, attempt);
  secrets.register(federated);

  const id = await callIamCredentials(
    http,
    federated,
    'generateIdToken',
    { audience: plan.idTokenAudience, includeEmail: true },
    attempt,
  );
  const token = id.answer.token;
  const step = 'get a Google ID token from IAM Credentials';
  if (!isTokenShaped(token)) throw malformed(step, id.url, id.response, 'token');
  secrets.register(token);
  let exp: unknown;
  try {
    exp = decodeJwt(token).exp;
  } catch {
    throw new LoginError(
      'RESPONSE_MALFORMED',
      `Failed to ${step}: ${id.url} answered HTTP ${id.response.status} with a token that is not a JWT`,
      { hint: `${GOOGLE_MALFORMED_HINT} The answer began: ${answerBegins(id.response)}` },
    );
  }
  // Without a usable expiry, assume the shortest lifetime we could meet, so refreshes come early.
  const now = Date.now();
  const expiresAt = new Date(typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : now + 300_000);
  // An expired ID token would be served, and re-minted on every client request: refuse it here.
  assertUsableLifetime(
    expiresAt.getTime(),
    now,
    step,
    id.url,
    `its exp claim says ${expiresAt.toISOString()}`,
  );

  let accessToken: Credential | undefined;
  if (plan.accessToken) {
    const access = await callIamCredentials(
      http,
      federated,
      'generateAccessToken',
      { scope: [CLOUD_PLATFORM_SCOPE], lifetime: '3600s' },
      attempt,
    );
    const value = access.answer.accessToken;
    const accessStep = 'get a Google access token from IAM Credentials';
    if (!isTokenShaped(value)) throw malformed(accessStep, access.url, access.response, 'accessToken');
    secrets.register(value);
    const expireTime = Date.parse(String(access.answer.expireTime ?? ''));
    const accessNow = Date.now();
    const accessExpiry = Number.isNaN(expireTime) ? accessNow + 3_600_000 : expireTime;
    assertUsableLifetime(
      accessExpiry,
      accessNow,
      accessStep,
      access.url,
      `expireTime is ${new Date(accessExpiry).toISOString()}`,
    );
    accessToken = { token: value, expiresAt: new Date(accessExpiry) };
  }
  return { idToken: { token, expiresAt }, accessToken };
}
