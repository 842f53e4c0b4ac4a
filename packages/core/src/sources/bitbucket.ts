import { environmentIdTokenSource } from './environment.ts';
import type { IdTokenSource } from './id-token-source.ts';

/** Bitbucket Pipelines: a step with `oidc: true` gets BITBUCKET_STEP_OIDC_TOKEN. */
export function bitbucketIdTokenSource(env: NodeJS.ProcessEnv = process.env): IdTokenSource {
  return environmentIdTokenSource('BITBUCKET_STEP_OIDC_TOKEN', env, {
    description: 'Bitbucket Pipelines (BITBUCKET_STEP_OIDC_TOKEN)',
    audienceSetWhereMinted: "Bitbucket (ari:cloud:bitbucket::workspace/<uuid>, or the step's oidc.audiences)",
    missingHint: 'Add `oidc: true` to the step in bitbucket-pipelines.yml.',
    stableSubjectClaim: (claims) =>
      typeof claims.payload.repositoryUuid === 'string' ? 'repositoryUuid' : undefined,
    policyNotes: () => [
      "Bitbucket's subject is {RepoUUID}:{StepUUID} and changes every step: match the repository with subject_claim repositoryUuid.",
    ],
  });
}
