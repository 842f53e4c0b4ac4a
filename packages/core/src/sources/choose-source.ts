import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LoginError } from '../safe-output/errors.ts';
import { azureDevOpsIdTokenSource } from './azure-devops.ts';
import {
  type AzureWorkloadIdentity,
  azureWorkloadIdentityIdTokenSource,
  readAzureWorkloadIdentity,
} from './azure-workload-identity.ts';
import { bitbucketIdTokenSource } from './bitbucket.ts';
import { buildkiteIdTokenSource } from './buildkite.ts';
import { circleciIdTokenSource, circleciTokenVariable } from './circleci.ts';
import { environmentIdTokenSource } from './environment.ts';
import { fileIdTokenSource } from './file.ts';
import { gcpMetadataIdTokenSource } from './gcp-metadata.ts';
import { githubIdTokenSource } from './github.ts';
import { gitlabIdTokenSource } from './gitlab.ts';
import type { IdTokenSource } from './id-token-source.ts';
import { kubernetesIdTokenSource, SERVICE_ACCOUNT_DIR } from './kubernetes.ts';
import { kubernetesTokenRequestIdTokenSource } from './kubernetes-token-request.ts';
import { terraformCloudIdTokenSource } from './terraform-cloud.ts';

/** The names `--token-source` takes, in the order auto-detection tries them (auto first). */
export const TOKEN_SOURCE_NAMES = [
  'auto',
  'github',
  'azure-devops',
  'gitlab',
  'circleci',
  'bitbucket',
  'buildkite',
  'terraform-cloud',
  'azure-workload-identity',
  'kubernetes',
  'kubernetes-token-request',
  'gcp-metadata',
  'env',
  'file',
] as const;
export type TokenSourceName = (typeof TOKEN_SOURCE_NAMES)[number];

/** The variable the SDKs and GitLab jobs use by default. */
export const DEFAULT_TOKEN_VARIABLE = 'DATABRICKS_OIDC_TOKEN';

export interface TokenSourceSettings {
  /** A name from TOKEN_SOURCE_NAMES; default auto. */
  tokenSource?: string | undefined;
  /** A variable holding the token (`--token-env`); given means the env source under auto. */
  tokenEnv?: string | undefined;
  /** A file holding the token (`--token-file`); given means the file source under auto. */
  tokenFile?: string | undefined;
  /** `NAMESPACE/NAME` or `NAME`, for kubernetes-token-request. */
  k8sServiceAccount?: string | undefined;
  /** The pod's service-account folder (token, ca.crt, namespace). */
  k8sServiceAccountDir?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

/** The source chosen, and why, for the log. */
export interface ChosenSource {
  /** `custom`: a library caller's own source. */
  name: Exclude<TokenSourceName, 'auto'> | 'custom';
  source: IdTokenSource;
  /** "GITLAB_CI and DATABRICKS_OIDC_TOKEN are set". */
  reason: string;
  /** Set for azure-workload-identity: the Entra settings the webhook injected (provider azure). */
  azure?: AzureWorkloadIdentity | undefined;
}

function unavailable(name: string, missing: string, hint: string): LoginError {
  return new LoginError('ID_TOKEN_UNAVAILABLE', `Failed to use the token source ${name}: ${missing}`, {
    hint,
  });
}

/** Builds the named source; a missing prerequisite is an error, never a fallback. */
function build(
  name: Exclude<TokenSourceName, 'auto'>,
  s: TokenSourceSettings,
  env: NodeJS.ProcessEnv,
): Omit<ChosenSource, 'reason'> {
  const variable = s.tokenEnv?.trim() || DEFAULT_TOKEN_VARIABLE;
  const saDir = s.k8sServiceAccountDir?.trim() || SERVICE_ACCOUNT_DIR;
  switch (name) {
    case 'github':
      return {
        name,
        source: githubIdTokenSource(env.ACTIONS_ID_TOKEN_REQUEST_URL, env.ACTIONS_ID_TOKEN_REQUEST_TOKEN),
      };
    case 'azure-devops':
      if (!env.SYSTEM_OIDCREQUESTURI || !env.SYSTEM_ACCESSTOKEN) {
        throw unavailable(
          name,
          `${!env.SYSTEM_OIDCREQUESTURI ? 'SYSTEM_OIDCREQUESTURI' : 'SYSTEM_ACCESSTOKEN'} is not set`,
          'In a script step, map the job token: env: { SYSTEM_ACCESSTOKEN: $(System.AccessToken) }; or use the DatabricksOidcLogin@1 task, which needs no mapping.',
        );
      }
      return {
        name,
        source: azureDevOpsIdTokenSource(
          { oidcRequestUri: env.SYSTEM_OIDCREQUESTURI },
          env.SYSTEM_ACCESSTOKEN,
        ),
      };
    case 'gitlab':
      if (!env.GITLAB_CI)
        throw unavailable(
          name,
          'GITLAB_CI is not set',
          'Run this in a GitLab CI job, or pick another --token-source.',
        );
      return { name, source: gitlabIdTokenSource(variable, env) };
    case 'circleci':
      if (!env.CIRCLECI)
        throw unavailable(
          name,
          'CIRCLECI is not set',
          'Run this in a CircleCI job, or pick another --token-source.',
        );
      return { name, source: circleciIdTokenSource(env) };
    case 'bitbucket':
      return { name, source: bitbucketIdTokenSource(env) };
    case 'buildkite':
      if (!env.BUILDKITE)
        throw unavailable(
          name,
          'BUILDKITE is not set',
          'Run this in a Buildkite job, or pick another --token-source.',
        );
      return { name, source: buildkiteIdTokenSource() };
    case 'terraform-cloud':
      return { name, source: terraformCloudIdTokenSource(env) };
    case 'azure-workload-identity': {
      const azure = readAzureWorkloadIdentity(env);
      if (!azure) {
        throw unavailable(
          name,
          'AZURE_FEDERATED_TOKEN_FILE is not set',
          'Label the pod azure.workload.identity/use: "true" and annotate its service account with azure.workload.identity/client-id.',
        );
      }
      return { name, source: azureWorkloadIdentityIdTokenSource(azure), azure };
    }
    case 'kubernetes':
      return { name, source: kubernetesIdTokenSource(s.tokenFile?.trim(), saDir) };
    case 'kubernetes-token-request':
      if (!s.k8sServiceAccount?.trim()) {
        throw unavailable(
          name,
          '--k8s-service-account is not set',
          'Name the service account to mint a token for: --k8s-service-account NAMESPACE/NAME.',
        );
      }
      return {
        name,
        source: kubernetesTokenRequestIdTokenSource({
          serviceAccount: s.k8sServiceAccount,
          serviceAccountDir: saDir,
          env,
        }),
      };
    case 'gcp-metadata':
      return { name, source: gcpMetadataIdTokenSource(env) };
    case 'env':
      return { name, source: environmentIdTokenSource(variable, env) };
    case 'file':
      if (!s.tokenFile?.trim())
        throw unavailable(
          name,
          '--token-file is not set',
          'Set --token-file (or DATABRICKS_OIDC_TOKEN_FILEPATH) to the file holding the token.',
        );
      return { name, source: fileIdTokenSource(s.tokenFile.trim()) };
  }
}

/**
 * Picks the ID-token source: the named one, or under auto the first present, in the order
 * of TOKEN_SOURCE_NAMES, except that a given --token-file or --token-env decides, and a set
 * DATABRICKS_OIDC_TOKEN comes before the Kubernetes sources. kubernetes-token-request and
 * gcp-metadata are used only when named.
 */
export function chooseIdTokenSource(settings: TokenSourceSettings): ChosenSource {
  const env = settings.env ?? process.env;
  const requested = (settings.tokenSource?.trim() || 'auto') as TokenSourceName;
  if (!(TOKEN_SOURCE_NAMES as readonly string[]).includes(requested)) {
    throw new LoginError(
      'INPUT_INVALID',
      `Failed to read --token-source: "${requested}" is not a token source`,
      {
        hint: `Set --token-source to one of: ${TOKEN_SOURCE_NAMES.join(', ')}.`,
      },
    );
  }
  if (requested !== 'auto')
    return { ...build(requested, settings, env), reason: `--token-source ${requested}` };

  const variable = settings.tokenEnv?.trim() || DEFAULT_TOKEN_VARIABLE;
  const saDir = settings.k8sServiceAccountDir?.trim() || SERVICE_ACCOUNT_DIR;
  const set = (...names: string[]) =>
    names.map((n) => `${n} (${env[n]?.trim() ? 'set' : 'unset'})`).join(', ');
  const saToken = join(saDir, 'token');
  // Each source, the reason it is chosen (false when absent), and what it looks for: a job that
  // has none is told every variable and file that was checked.
  const candidates: Array<[Exclude<TokenSourceName, 'auto'>, string | false, string]> = [
    [
      'file',
      !!settings.tokenFile?.trim() && '--token-file (DATABRICKS_OIDC_TOKEN_FILEPATH) is given',
      '--token-file or DATABRICKS_OIDC_TOKEN_FILEPATH (not given)',
    ],
    [
      'env',
      !!settings.tokenEnv?.trim() && `--token-env (DATABRICKS_OIDC_TOKEN_ENV) names ${variable}`,
      '--token-env or DATABRICKS_OIDC_TOKEN_ENV (not given)',
    ],
    [
      'github',
      !!(env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) &&
        'ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are set',
      set('ACTIONS_ID_TOKEN_REQUEST_URL', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN'),
    ],
    [
      'azure-devops',
      !!(env.SYSTEM_OIDCREQUESTURI && env.SYSTEM_ACCESSTOKEN) &&
        'SYSTEM_OIDCREQUESTURI and SYSTEM_ACCESSTOKEN are set',
      set('SYSTEM_OIDCREQUESTURI', 'SYSTEM_ACCESSTOKEN'),
    ],
    [
      'gitlab',
      !!(env.GITLAB_CI && env[variable]?.trim()) && `GITLAB_CI and ${variable} are set`,
      set('GITLAB_CI', variable),
    ],
    [
      'circleci',
      !!(env.CIRCLECI && circleciTokenVariable(env)) && `CIRCLECI and ${circleciTokenVariable(env)} are set`,
      `${set('CIRCLECI', 'CIRCLE_OIDC_TOKEN_V2')} or CIRCLE_OIDC_TOKEN (${env.CIRCLE_OIDC_TOKEN?.trim() ? 'set' : 'unset'})`,
    ],
    [
      'bitbucket',
      !!env.BITBUCKET_STEP_OIDC_TOKEN?.trim() && 'BITBUCKET_STEP_OIDC_TOKEN is set',
      set('BITBUCKET_STEP_OIDC_TOKEN'),
    ],
    [
      'buildkite',
      !!env.BUILDKITE && 'BUILDKITE is set (the token comes from buildkite-agent)',
      set('BUILDKITE'),
    ],
    [
      'terraform-cloud',
      !!env.TFC_WORKLOAD_IDENTITY_TOKEN?.trim() && 'TFC_WORKLOAD_IDENTITY_TOKEN is set',
      set('TFC_WORKLOAD_IDENTITY_TOKEN'),
    ],
    [
      'env',
      !!env[DEFAULT_TOKEN_VARIABLE]?.trim() && `${DEFAULT_TOKEN_VARIABLE} is set`,
      set(DEFAULT_TOKEN_VARIABLE),
    ],
    [
      'azure-workload-identity',
      !!env.AZURE_FEDERATED_TOKEN_FILE?.trim() &&
        'AZURE_FEDERATED_TOKEN_FILE is set (Azure Workload Identity)',
      set('AZURE_FEDERATED_TOKEN_FILE'),
    ],
    [
      'kubernetes',
      !!env.KUBERNETES_SERVICE_HOST &&
        existsSync(saToken) &&
        `KUBERNETES_SERVICE_HOST is set and ${saToken} exists`,
      `${set('KUBERNETES_SERVICE_HOST')} and the file ${saToken} (${existsSync(saToken) ? 'present' : 'missing'})`,
    ],
  ];
  for (const [name, reason] of candidates) {
    if (reason) return { ...build(name, settings, env), reason: `auto-detected: ${reason}` };
  }
  const clues: string[] = [];
  if (env.GITLAB_CI)
    clues.push(
      `GITLAB_CI is set but ${variable} is not: add id_tokens: { ${variable}: { aud: <audience> } } to the job.`,
    );
  if (env.CIRCLECI) clues.push('CIRCLECI is set but no CIRCLE_OIDC_TOKEN_V2: the job needs a context.');
  if (env.BITBUCKET_COMMIT)
    clues.push('BITBUCKET_COMMIT is set but no BITBUCKET_STEP_OIDC_TOKEN: add oidc: true to the step.');
  if (env.TF_BUILD && !env.SYSTEM_ACCESSTOKEN)
    clues.push(
      'TF_BUILD is set (Azure DevOps) but not SYSTEM_ACCESSTOKEN: map it in the step, env: { SYSTEM_ACCESSTOKEN: $(System.AccessToken) }.',
    );
  if (env.GITHUB_ACTIONS)
    clues.push(
      'GITHUB_ACTIONS is set but ACTIONS_ID_TOKEN_REQUEST_URL is not: add permissions: id-token: write (forks and Dependabot get none).',
    );
  if (env.JENKINS_URL)
    clues.push(
      'JENKINS_URL is set: bind an "OpenID Connect id token" credential with withCredentials and pass --token-env or --token-file.',
    );
  throw new LoginError('ID_TOKEN_UNAVAILABLE', 'Failed to find an ID token: no token source was detected', {
    hint: `Name one with --token-source (${TOKEN_SOURCE_NAMES.slice(1).join(', ')}), or pass --token-env or --token-file.${clues.length ? ` ${clues.join(' ')}` : ''}`,
    evidence: [
      'Looked for, source by source:',
      ...candidates.map(([name, , lookedFor]) => `  ${name}: ${lookedFor}`),
      '  kubernetes-token-request, gcp-metadata: only when named with --token-source',
    ],
  });
}
