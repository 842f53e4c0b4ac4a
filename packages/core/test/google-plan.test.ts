import { describe, expect, it } from 'vitest';
import {
  GCP_ACCOUNTS_HOST,
  HttpClient,
  LoginError,
  planGoogleLogin,
  planLogin,
  redactCredentialShapes,
  resolveAudience,
} from '../src/index.ts';

const PROVIDER = 'projects/123456789012/locations/global/workloadIdentityPools/ci-pool/providers/github';
const SA = 'deployer@my-project.iam.gserviceaccount.com';
const HOST = 'https://1234567890123456.7.gcp.databricks.com';

function refusal(fn: () => unknown): LoginError {
  try {
    fn();
  } catch (error) {
    if (error instanceof LoginError) return error;
    throw error;
  }
  throw new Error('expected a LoginError');
}

describe('provider google: inputs are checked before any request', () => {
  it('needs both workload-identity-provider and service-account', () => {
    const noProvider = refusal(() => planLogin({ host: HOST, provider: 'google', serviceAccount: SA }));
    expect(noProvider.code).toBe('INPUT_INVALID');
    expect(noProvider.message).toContain('provider google needs workload-identity-provider');
    const noAccount = refusal(() =>
      planLogin({ host: HOST, provider: 'google', workloadIdentityProvider: PROVIDER }),
    );
    expect(noAccount.message).toContain('provider google needs service-account');
  });

  it('wants the project number, and says how to look it up from a project ID', () => {
    const error = refusal(() =>
      planGoogleLogin(
        { workloadIdentityProvider: PROVIDER.replace('123456789012', 'my-project'), serviceAccount: SA },
        HOST,
        {},
      ),
    );
    expect(error.message).toContain('"my-project" is a project ID, but Google STS needs the project number');
    expect(error.hint).toContain('gcloud projects describe my-project --format="value(projectNumber)"');
  });

  it('takes the provider name with or without the //iam.googleapis.com/ prefix, and refuses anything else', () => {
    for (const form of [
      PROVIDER,
      `//iam.googleapis.com/${PROVIDER}`,
      `https://iam.googleapis.com/${PROVIDER}`,
    ]) {
      expect(
        planGoogleLogin({ workloadIdentityProvider: form, serviceAccount: SA }, HOST, {})
          .workloadIdentityProvider,
      ).toBe(PROVIDER);
    }
    expect(
      refusal(() =>
        planGoogleLogin({ workloadIdentityProvider: 'ci-pool/github', serviceAccount: SA }, HOST, {}),
      ).message,
    ).toContain('is not a workload identity provider name');
    expect(
      refusal(() =>
        planGoogleLogin({ workloadIdentityProvider: PROVIDER, serviceAccount: 'deployer/../x' }, HOST, {}),
      ).message,
    ).toContain('is not a service account e-mail');
  });

  it('validates GOOGLE_STS_URL and GOOGLE_IAM_CREDENTIALS_URL like every endpoint, keeping the path', () => {
    const plan = planGoogleLogin({ workloadIdentityProvider: PROVIDER, serviceAccount: SA }, HOST, {
      GOOGLE_STS_URL: 'http://127.0.0.1:8080/v1/token',
      GOOGLE_IAM_CREDENTIALS_URL: 'https://iamcredentials.p.example.com/',
    });
    expect(plan.stsUrl).toBe('http://127.0.0.1:8080/v1/token');
    expect(plan.iamCredentialsUrl).toBe('https://iamcredentials.p.example.com');
    const defaults = planGoogleLogin({ workloadIdentityProvider: PROVIDER, serviceAccount: SA }, HOST, {});
    expect(defaults.stsUrl).toBe('https://sts.googleapis.com/v1/token');
    expect(defaults.iamCredentialsUrl).toBe('https://iamcredentials.googleapis.com');
    const insecure = refusal(() =>
      planGoogleLogin({ workloadIdentityProvider: PROVIDER, serviceAccount: SA }, HOST, {
        GOOGLE_STS_URL: 'http://sts.example.com/v1/token',
      }),
    );
    expect(insecure.code).toBe('HOST_INSECURE');
    expect(insecure.message).toContain('GOOGLE_STS_URL');
    expect(
      refusal(() =>
        planGoogleLogin({ workloadIdentityProvider: PROVIDER, serviceAccount: SA }, HOST, {
          GOOGLE_IAM_CREDENTIALS_URL: 'https://user:pw@iam.example.com',
        }),
      ).code,
    ).toBe('HOST_INVALID');
  });

  it('uses the Google Cloud accounts host for account logins, as the Google ID token audience', () => {
    const plan = planLogin({
      provider: 'google',
      accountId: '0d1c2b3a-4e5f-6a7b-8c9d-0e1f2a3b4c5d',
      workloadIdentityProvider: PROVIDER,
      serviceAccount: SA,
    });
    expect(plan.host).toBe(GCP_ACCOUNTS_HOST);
    expect(plan.google?.idTokenAudience).toBe('https://accounts.gcp.databricks.com');
    expect(plan.verify).toBe(false);
  });

  it("asks the CI for the provider's default allowed audience, without a request, unless audience is given", async () => {
    const http = new HttpClient({ timeoutMs: 1000 });
    http.send = () => Promise.reject(new Error('no request expected'));
    const query = {
      provider: 'google' as const,
      workloadIdentityProvider: PROVIDER,
      host: HOST,
      tokenEndpoint: '',
    };
    expect((await resolveAudience(query, http)).audience).toBe(`https://iam.googleapis.com/${PROVIDER}`);
    expect((await resolveAudience({ ...query, explicit: 'my-aud' }, http)).audience).toBe('my-aud');
    expect((await resolveAudience({ ...query, fixed: 'api://AzureADTokenExchange' }, http)).audience).toBe(
      'api://AzureADTokenExchange',
    );
  });
});

describe('redaction of Google answers', () => {
  it('removes the tokens of STS and IAM Credentials answers and requests', () => {
    const text =
      '{"accessToken": "ya29.c.abcdefgh", "expireTime": "2026-01-01T00:00:00Z"} {"subjectToken":"opaque-subject"} {"access_token":"ya29.d.xyz"} {"token": "eyJ0eXAi.opaque"}';
    const redacted = redactCredentialShapes(text);
    for (const secret of ['ya29.c.abcdefgh', 'opaque-subject', 'ya29.d.xyz', 'eyJ0eXAi.opaque'])
      expect(redacted).not.toContain(secret);
    expect(redacted).toContain('2026-01-01T00:00:00Z');
  });
});
