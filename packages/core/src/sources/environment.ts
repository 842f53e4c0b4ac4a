import { LoginError } from '../explain/errors.ts';
import type { IdTokenSource } from './id-token-source.ts';

/** A token in an environment variable, e.g. GitLab `id_tokens` or a token minted by an earlier step. */
export function environmentIdTokenSource(name: string, env: NodeJS.ProcessEnv = process.env): IdTokenSource {
  return {
    description: `the environment variable ${name}`,
    async getIdToken() {
      const value = env[name]?.trim();
      if (!value) {
        throw new LoginError(
          'ID_TOKEN_UNAVAILABLE',
          `Failed to get an ID token: the environment variable ${name} is empty`,
          {
            hint: `Set ${name} to the job's OIDC ID token.`,
          },
        );
      }
      return value;
    },
  };
}
