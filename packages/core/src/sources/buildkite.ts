import { execFile } from 'node:child_process';
import { LoginError } from '../safe-output/errors.ts';
import { excerpt } from '../safe-output/server-answer.ts';
import type { IdTokenSource } from './id-token-source.ts';

/**
 * Buildkite: `buildkite-agent oidc request-token --audience AUD` prints a JWT for the job.
 * The agent on PATH talks to Buildkite with the job's own agent token.
 */
export function buildkiteIdTokenSource(agent = 'buildkite-agent'): IdTokenSource {
  return {
    description: 'Buildkite (buildkite-agent oidc request-token)',
    stableSubjectClaim: (claims) =>
      typeof claims.payload.pipeline_id === 'string' ? 'pipeline_id' : undefined,
    policyNotes: () => [
      'Every Buildkite organization shares the issuer https://agent.buildkite.com, and the subject changes with every commit and step: match a claim unique to your pipeline with subject_claim (pipeline_id when the token carries it), never organization_slug alone.',
    ],
    getIdToken(audience, http) {
      const step = 'get an ID token from buildkite-agent';
      return new Promise<string>((resolve, reject) => {
        execFile(
          agent,
          ['oidc', 'request-token', '--audience', audience],
          { timeout: http.timeoutMs, maxBuffer: 1024 * 1024, windowsHide: true },
          (error, stdout, stderr) => {
            if (error) {
              const code = (error as NodeJS.ErrnoException).code;
              reject(
                new LoginError(
                  'ID_TOKEN_REQUEST_FAILED',
                  code === 'ENOENT'
                    ? `Failed to ${step}: ${agent} is not on PATH`
                    : `Failed to ${step}: it ${error.killed ? 'did not finish in time' : `exited with ${error.code ?? 'an error'}`}${stderr.trim() ? ` (${excerpt(stderr.trim())})` : ''}`,
                  {
                    hint:
                      code === 'ENOENT'
                        ? 'Run this inside a Buildkite job, where the agent puts buildkite-agent on PATH.'
                        : 'Check that the job may request OIDC tokens (agent v3.48 or later) and the audience is valid.',
                  },
                ),
              );
              return;
            }
            const token = stdout.trim();
            if (!token) {
              reject(
                new LoginError('RESPONSE_MALFORMED', `Failed to ${step}: it printed no token`, {
                  hint: 'Check the buildkite-agent version (v3.48 or later) and its log.',
                }),
              );
              return;
            }
            resolve(token);
          },
        );
      });
    },
  };
}
