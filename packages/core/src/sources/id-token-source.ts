import type { HttpClient } from '../net/http.ts';

/** Anything that can hand us the CI job's OIDC ID token for an audience. */
export interface IdTokenSource {
  /** For people: "GitHub Actions", "the file /var/run/secrets/token". */
  readonly description: string;
  /** Some sources (Azure DevOps) fix the audience; login uses it instead of resolving one. */
  readonly fixedAudience?: string | undefined;
  getIdToken(audience: string, http: HttpClient): Promise<string>;
}
