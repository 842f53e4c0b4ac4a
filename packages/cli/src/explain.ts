import {
  audienceQueryFor,
  decodeIdToken,
  describeHostRoute,
  describeIdTokenReport,
  ENTRA_AUDIENCE,
  HttpClient,
  type Logger,
  LoginError,
  planLogin,
  type ResolvedAudience,
  readHostMetadata,
  redactingLogger,
  resolveAudience,
  type SecretRegistry,
  type WorkloadLogin,
  withHostMetadata,
} from '@databricks-oidc-login/core';

/**
 * Reads the ID token, exchanges nothing, and returns the report for stdout: claims, where the
 * token came from, and the policy that accepts it.
 */
export async function explainIdToken(
  setup: WorkloadLogin,
  secrets: SecretRegistry,
  log: Logger,
): Promise<string[]> {
  const { options, chosen } = setup;
  // explain reads a token: with none detected there is nothing to explain, only why.
  if (!chosen) throw setup.unavailable ?? new Error('no token source was detected');
  const source = chosen.source;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const http = new HttpClient({
    timeoutMs,
    deadlineAt: Date.now() + 3 * timeoutMs,
    log: redactingLogger(log, secrets),
  });
  const provider = (options.provider?.trim() || 'databricks') as 'databricks' | 'azure' | 'google';
  const hasHost = !!(options.host?.trim() || options.accountId?.trim());
  const planned = hasHost ? planLogin(options) : undefined;
  // The same one read of the host's metadata a login makes: it decides endpoint, audience and shape.
  const metadata = planned ? await readHostMetadata(http, planned.host) : undefined;
  const plan = planned ? withHostMetadata(planned, metadata, log, options.inputNames) : undefined;
  const hostLines = plan ? describeHostRoute(plan, metadata) : [];
  let audience: ResolvedAudience;
  if (plan) {
    audience = await resolveAudience(audienceQueryFor(plan, source), http, log, metadata);
  } else if (source.audienceSetWhereMinted) {
    audience = {
      audience: '',
      source: `the token as minted (its audience is set in ${source.audienceSetWhereMinted})`,
    };
  } else if (source.fixedAudience) {
    audience = { audience: source.fixedAudience, source: 'the token source, which always uses it' };
  } else if (options.audience?.trim()) {
    audience = { audience: options.audience.trim(), source: 'the audience input' };
  } else if (provider === 'azure') {
    audience = { audience: ENTRA_AUDIENCE, source: 'provider azure (Entra ID workload identity)' };
  } else {
    throw new LoginError(
      'INPUT_INVALID',
      `Failed to choose an audience: ${source.description} requests tokens for an audience, and neither --host nor --audience is set`,
      { hint: 'Pass --host (the audience is then chosen as a login would) or --audience.' },
    );
  }
  const token = await source.getIdToken(audience.audience, http);
  secrets.register(token);
  const claims = decodeIdToken(token, source.description);
  const report = describeIdTokenReport({
    claims,
    sourceDescription: source.description,
    sourceReason: chosen.reason,
    audience,
    provider: plan?.provider ?? provider,
    google: plan?.google,
    clientId: plan?.clientId ?? options.clientId,
    accountId: plan?.accountId,
    subjectClaim: provider === 'databricks' ? source.stableSubjectClaim?.(claims) : undefined,
    notes: source.policyNotes?.(claims) ?? [],
  });
  return [...hostLines, ...report];
}
