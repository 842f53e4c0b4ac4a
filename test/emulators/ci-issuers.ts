import { randomUUID } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { JwtIssuer } from './jwt-issuer.ts';

/** The CI systems whose ID tokens are plain variables or files, plus the token-minting ones. */
export type CiKind = 'gitlab' | 'circleci' | 'bitbucket' | 'buildkite' | 'terraform-cloud' | 'aks' | 'google';

/**
 * An emulated OIDC issuer of one CI (or cluster, or Google), with that CI's issuer URL, subject
 * format and context claims, signing RS256 JWTs like the real one.
 */
export class CiIssuer {
  private constructor(
    readonly kind: CiKind,
    readonly jwt: JwtIssuer,
    readonly claims: JWTPayload,
    /** The audience the CI puts in its tokens when nobody asks for one. */
    readonly defaultAudience: string,
  ) {}

  static async create(kind: CiKind): Promise<CiIssuer> {
    const org = randomUUID();
    switch (kind) {
      case 'gitlab':
        return new CiIssuer(
          kind,
          await JwtIssuer.create('https://gitlab.com'),
          {
            sub: 'project_path:octo-group/octo-project:ref_type:branch:ref:main',
            namespace_path: 'octo-group',
            project_path: 'octo-group/octo-project',
            ref: 'main',
            ref_type: 'branch',
            pipeline_source: 'push',
          },
          'https://gitlab.com',
        );
      case 'circleci': {
        const project = randomUUID();
        return new CiIssuer(
          kind,
          await JwtIssuer.create(`https://oidc.circleci.com/org/${org}`),
          {
            sub: `org/${org}/project/${project}/user/${randomUUID()}/vcs-origin/github.com/octo/repo/vcs-ref/refs/heads/main`,
            'oidc.circleci.com/project-id': project,
            'oidc.circleci.com/vcs-ref': 'refs/heads/main',
          },
          org,
        );
      }
      case 'bitbucket': {
        const repo = `{${randomUUID()}}`;
        return new CiIssuer(
          kind,
          await JwtIssuer.create(
            'https://api.bitbucket.org/2.0/workspaces/octo/pipelines-config/identity/oidc',
          ),
          {
            sub: `${repo}:{${randomUUID()}}`,
            repositoryUuid: repo,
            branchName: 'main',
          },
          `ari:cloud:bitbucket::workspace/${randomUUID()}`,
        );
      }
      case 'buildkite':
        return new CiIssuer(
          kind,
          await JwtIssuer.create('https://agent.buildkite.com'),
          {
            sub: 'organization:octo:pipeline:deploy:ref:refs/heads/main:commit:9f3182061f1e2cca4702c368cbc039b7dc9d4485:step:deploy',
            organization_slug: 'octo',
            pipeline_slug: 'deploy',
            build_number: 42,
            step_key: 'deploy',
          },
          'https://buildkite.com/octo',
        );
      case 'terraform-cloud':
        return new CiIssuer(
          kind,
          await JwtIssuer.create('https://app.terraform.io'),
          {
            sub: 'organization:octo:project:Default:workspace:databricks:run_phase:apply',
            terraform_workspace_id: `ws-${org.slice(0, 16)}`,
            terraform_run_phase: 'apply',
          },
          'databricks.workload.identity',
        );
      case 'aks':
        return new CiIssuer(
          kind,
          await JwtIssuer.create(`https://eastus.oic.prod-aks.azure.com/${org}/${randomUUID()}/`),
          {
            sub: 'system:serviceaccount:data-jobs:databricks-deployer',
            'kubernetes.io': { namespace: 'data-jobs', serviceaccount: { name: 'databricks-deployer' } },
          },
          'api://AzureADTokenExchange',
        );
      case 'google':
        return new CiIssuer(
          kind,
          await JwtIssuer.create('https://accounts.google.com'),
          {
            sub: '112233445566778899001',
            email: 'deployer@octo-project.iam.gserviceaccount.com',
            email_verified: true,
            azp: '112233445566778899001',
          },
          'https://accounts.google.com',
        );
    }
  }

  /** A token as the CI would hand it to the job. */
  mint(audience = this.defaultAudience, lifetimeSeconds = 300, extra: JWTPayload = {}): Promise<string> {
    return this.jwt.sign({ ...this.claims, ...extra, aud: audience }, lifetimeSeconds);
  }
}
