import { LoginError } from '../safe-output/errors.ts';
import type { IdTokenSource } from './id-token-source.ts';

/** What a CI-specific source built on a variable or file says about itself. */
export type SourceTraits = Partial<
  Pick<IdTokenSource, 'description' | 'audienceSetWhereMinted' | 'policyNotes' | 'stableSubjectClaim'>
> & {
  /** What to do when the value is missing or empty. */
  missingHint?: string | undefined;
};

/**
 * A token in an environment variable, e.g. GitLab `id_tokens` or a token minted by an earlier
 * step. Read again on every call, and trimmed.
 */
export function environmentIdTokenSource(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
  traits: SourceTraits = {},
): IdTokenSource {
  const { missingHint, ...rest } = traits;
  return {
    description: `the environment variable ${name}`,
    audienceSetWhereMinted: 'whatever minted the token',
    ...rest,
    async getIdToken() {
      const value = env[name]?.trim();
      if (!value) {
        throw new LoginError(
          'ID_TOKEN_UNAVAILABLE',
          `Failed to get an ID token: the environment variable ${name} is empty`,
          { hint: missingHint ?? `Set ${name} to the job's OIDC ID token.` },
        );
      }
      return value;
    },
  };
}
