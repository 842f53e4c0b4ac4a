import type { IdTokenClaims } from '../explain/claims.ts';
import type { HttpClient } from '../net/http.ts';

/** Anything that can hand us the CI job's OIDC ID token for an audience. */
export interface IdTokenSource {
  /** For people: "GitHub Actions", "the file /var/run/secrets/token". */
  readonly description: string;
  /** Some sources (Azure DevOps) fix the audience; login uses it instead of resolving one. */
  readonly fixedAudience?: string | undefined;
  /**
   * Set for tokens minted elsewhere with an audience we cannot ask for (GitLab `id_tokens`,
   * CircleCI, projected files): where that audience is configured. The token's own `aud` is
   * then the audience, and a rejection points there.
   */
  readonly audienceSetWhereMinted?: string | undefined;
  /** Source-specific advice for a federation policy, from the token's claims (explain, rejections). */
  policyNotes?(claims: IdTokenClaims): string[];
  /** A claim to match instead of `sub`, when `sub` changes every run (CircleCI, Bitbucket, Buildkite). */
  stableSubjectClaim?(claims: IdTokenClaims): string | undefined;
  /**
   * Google-signed ID tokens for any audience (the GCE/GKE metadata server): with provider google
   * and no workload identity provider, Databricks on Google Cloud takes them as they are.
   */
  readonly issuesGoogleIdTokens?: boolean | undefined;
  getIdToken(audience: string, http: HttpClient): Promise<string>;
}
