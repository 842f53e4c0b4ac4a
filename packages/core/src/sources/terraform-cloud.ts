import { environmentIdTokenSource } from './environment.ts';
import type { IdTokenSource } from './id-token-source.ts';

/** HCP Terraform: the variable TFC_WORKLOAD_IDENTITY_AUDIENCE makes a run get TFC_WORKLOAD_IDENTITY_TOKEN. */
export function terraformCloudIdTokenSource(env: NodeJS.ProcessEnv = process.env): IdTokenSource {
  return environmentIdTokenSource('TFC_WORKLOAD_IDENTITY_TOKEN', env, {
    description: 'HCP Terraform (TFC_WORKLOAD_IDENTITY_TOKEN)',
    audienceSetWhereMinted: 'the workspace variable TFC_WORKLOAD_IDENTITY_AUDIENCE',
    missingHint:
      "Set the workspace environment variable TFC_WORKLOAD_IDENTITY_AUDIENCE (to your policy's audience); HCP Terraform then mints TFC_WORKLOAD_IDENTITY_TOKEN for each run.",
    stableSubjectClaim: (claims) =>
      typeof claims.payload.terraform_workspace_id === 'string' ? 'terraform_workspace_id' : undefined,
    policyNotes: () => [
      'The subject ends in run_phase:plan or run_phase:apply: one policy per phase, or subject_claim terraform_workspace_id for the whole workspace.',
    ],
  });
}
