import type { GooglePlan } from '../exchange/google-attempt.ts';
import { LoginError } from '../safe-output/errors.ts';
import { printableLine } from '../safe-output/printable.ts';
import { describeClaims, type IdTokenClaims } from './claims.ts';
import { describeGoogleAttempt } from './google-hint.ts';

/** What `explain` knows about a token it read but did not exchange. */
export interface IdTokenReport {
  claims: IdTokenClaims;
  /** "GitLab CI (the id_tokens variable DATABRICKS_OIDC_TOKEN)". */
  sourceDescription: string;
  /** Why this source was used ("auto-detected: GITLAB_CI and ... are set"). */
  sourceReason: string;
  /** The audience asked for and why; empty audience for tokens minted elsewhere. */
  audience: { audience: string; source: string };
  provider: 'databricks' | 'azure' | 'google';
  /** Provider google: the pool, provider and service account the token is for. */
  google?: GooglePlan | undefined;
  clientId?: string | undefined;
  accountId?: string | undefined;
  /** A claim to match instead of sub, when sub changes every run. */
  subjectClaim?: string | undefined;
  notes: string[];
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The setup helper's report: the claims, where they came from, and the policy (Databricks) or
 * federated credential (Entra ID) that accepts exactly this token, with the command to create it.
 */
export function describeIdTokenReport(report: IdTokenReport, now = Date.now()): string[] {
  const { claims } = report;
  const audience = report.audience.audience || claims.aud[0] || '';
  const lines = [
    `Token source: ${report.sourceDescription} (${report.sourceReason})`,
    report.audience.audience
      ? `Requested audience: ${report.audience.audience} (from ${report.audience.source})`
      : `Audience: ${claims.aud.join(', ')} (from ${report.audience.source})`,
    'Claims (decoded, not verified):',
    ...describeClaims(claims, now).map((line) => `  ${line}`),
  ];
  if (report.notes.length > 0)
    lines.push('Notes:', ...report.notes.map((n) => `  - ${printableLine(n, 600)}`));

  if (report.google) {
    // What Google STS and IAM Credentials need to accept this token, without the claims again.
    const attempt = { plan: report.google, claims, audience, audienceSource: report.audience.source };
    const afterClaims = (stage: 'sts' | 'generateIdToken') =>
      describeGoogleAttempt(attempt, stage, now).slice(1 + describeClaims(claims, now).length);
    lines.push(...afterClaims('sts'), ...afterClaims('generateIdToken'));
    return lines;
  }
  if (report.provider === 'azure') {
    const credential = {
      name: 'databricks-oidc-login',
      issuer: claims.iss,
      subject: claims.sub,
      audiences: ['api://AzureADTokenExchange'],
    };
    lines.push(
      `A federated identity credential on the Entra app ${report.clientId ?? '(--client-id)'} that accepts this token:`,
      ...JSON.stringify(credential, null, 2).split('\n'),
      `  az ad app federated-credential create --id ${report.clientId ?? 'APP_CLIENT_ID'} --parameters ${shellQuote(JSON.stringify(credential))}`,
      `  (for a managed identity: az identity federated-credential create --name databricks-oidc-login --identity-name IDENTITY --resource-group GROUP --issuer ${shellQuote(claims.iss)} --subject ${shellQuote(claims.sub)} --audiences api://AzureADTokenExchange)`,
    );
    return lines;
  }
  const claim = report.subjectClaim;
  const subjectValue = claim ? claims.payload[claim] : claims.sub;
  const policy = {
    oidc_policy: {
      issuer: claims.iss,
      audiences: [audience],
      ...(claim ? { subject_claim: claim } : {}),
      subject: typeof subjectValue === 'string' ? subjectValue : JSON.stringify(subjectValue),
    },
  };
  lines.push(
    'A service principal federation policy that accepts this token:',
    ...JSON.stringify(policy, null, 2).split('\n'),
    `Create it (SERVICE_PRINCIPAL_ID is the numeric ID on the service principal's account console page, not its application ID${report.clientId ? ` ${report.clientId}` : ''}):`,
    `  databricks account service-principal-federation-policy create SERVICE_PRINCIPAL_ID --json ${shellQuote(JSON.stringify(policy))}`,
  );
  if (!report.clientId) {
    lines.push(
      "Then log in with --client-id set to that service principal's application ID (or DATABRICKS_CLIENT_ID).",
    );
  }
  if (report.accountId)
    lines.push(`Account-level tokens: the policy belongs to account ${report.accountId}.`);
  return lines;
}

/**
 * Adds what the token source knows (where its audience is set, which claim to match) to the
 * evidence of a rejected exchange: Databricks and Entra never say which check failed.
 */
export async function withSourceNotes<T>(exchange: Promise<T>, notes: string[]): Promise<T> {
  try {
    return await exchange;
  } catch (error) {
    const rejected =
      error instanceof LoginError && (error.code === 'EXCHANGE_REJECTED' || error.code === 'ENTRA_REJECTED');
    if (!rejected || notes.length === 0) throw error;
    throw new LoginError(error.code, error.message, {
      hint: error.hint,
      evidence: [
        ...error.evidence,
        'About this token source:',
        ...notes.map((n) => `  - ${printableLine(n, 600)}`),
      ],
      cause: error.cause,
    });
  }
}
