import { environmentIdTokenSource } from './environment.ts';
import type { IdTokenSource } from './id-token-source.ts';

/** GitLab CI: a job's `id_tokens:` key becomes a variable holding a JWT with the job's `aud`. */
export function gitlabIdTokenSource(variable: string, env: NodeJS.ProcessEnv = process.env): IdTokenSource {
  return environmentIdTokenSource(variable, env, {
    description: `GitLab CI (the id_tokens variable ${variable})`,
    audienceSetWhereMinted: `the job's id_tokens: ${variable}: aud:`,
    missingHint: `Add to the job: id_tokens: { ${variable}: { aud: <your policy's audience> } }, or name another variable with --token-env.`,
    policyNotes: (claims) => [
      `GitLab's issuer is the instance URL (${claims.iss}), not a group or project URL.`,
      `The audience is set in the job's id_tokens: ${variable}: aud: and the policy must list exactly that value.`,
    ],
  });
}
