import { environmentIdTokenSource } from './environment.ts';
import type { IdTokenSource } from './id-token-source.ts';

/** The variable CircleCI puts the job's token in: V2 (subject with the VCS ref) when present. */
export function circleciTokenVariable(env: NodeJS.ProcessEnv): string | undefined {
  if (env.CIRCLE_OIDC_TOKEN_V2?.trim()) return 'CIRCLE_OIDC_TOKEN_V2';
  if (env.CIRCLE_OIDC_TOKEN?.trim()) return 'CIRCLE_OIDC_TOKEN';
  return undefined;
}

/** CircleCI: jobs that use a context get CIRCLE_OIDC_TOKEN(_V2); its `aud` is the organization ID. */
export function circleciIdTokenSource(env: NodeJS.ProcessEnv = process.env): IdTokenSource {
  const variable = circleciTokenVariable(env) ?? 'CIRCLE_OIDC_TOKEN_V2';
  return environmentIdTokenSource(variable, env, {
    description: `CircleCI (${variable})`,
    audienceSetWhereMinted: 'CircleCI, which always uses the organization ID',
    missingHint:
      'CircleCI gives OIDC tokens only to jobs that use a context: add `context: <any context>` to the job in the workflow.',
    stableSubjectClaim: (claims) =>
      typeof claims.payload['oidc.circleci.com/project-id'] === 'string'
        ? 'oidc.circleci.com/project-id'
        : undefined,
    policyNotes: () => [
      "CircleCI's subject names the user who triggered the job (and, in V2, the branch), so it changes between runs: match the project with subject_claim oidc.circleci.com/project-id.",
      'The audience is always your CircleCI organization ID.',
    ],
  });
}
