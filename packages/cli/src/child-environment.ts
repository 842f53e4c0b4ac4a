/**
 * Variables through which this tool reads a credential, or could have read one: exec's command
 * gets none of them, since it has the service's fresh token instead. This is a denylist, not an
 * allowlist. The command is the user's own program (a deploy script, Terraform, a test suite)
 * and needs the rest of its environment: PATH, HOME, its tools' settings, the CI's variables.
 * An allowlist would break it in ways no one can foresee. The list names exactly what our
 * inputs are, so it is complete for them. The detached service, which runs our code only, gets
 * an allowlist instead (metadataServiceEnvironment).
 */
export const CREDENTIAL_INPUTS = [
  'DATABRICKS_CLIENT_SECRET', // OAuth M2M
  'DATABRICKS_TOKEN', // a personal access token input; the command gets ours instead
  'DATABRICKS_OIDC_TOKEN', // the ID token (the default --token-env)
  'DATABRICKS_OIDC_TOKEN_FILEPATH', // where the ID token is (--token-file)
  'ACTIONS_ID_TOKEN_REQUEST_TOKEN', // GitHub: mints ID tokens for any audience
  'ACTIONS_ID_TOKEN_REQUEST_URL',
  'SYSTEM_ACCESSTOKEN', // Azure DevOps: the job's access token, which also mints ID tokens
  'CIRCLE_OIDC_TOKEN',
  'CIRCLE_OIDC_TOKEN_V2',
  'BITBUCKET_STEP_OIDC_TOKEN',
  'TFC_WORKLOAD_IDENTITY_TOKEN',
] as const;
// Kept on purpose: BUILDKITE_AGENT_ACCESS_TOKEN (the job's own `buildkite-agent artifact` and
// `meta-data` calls need it) and AZURE_FEDERATED_TOKEN_FILE (the pod's identity for Azure tools;
// the file stays readable whatever the variable says).

export interface CommandEnvironmentOptions {
  /** The variable --token-env (or DATABRICKS_OIDC_TOKEN_ENV) named, if any. */
  tokenEnv?: string | undefined;
  /** --pass-env: credential inputs to keep after all. */
  passEnv?: readonly string[] | undefined;
  platform?: NodeJS.Platform | undefined;
}

/** The credential inputs exec drops for these options, by their canonical names. */
export function droppedVariables(options: CommandEnvironmentOptions): string[] {
  const key = nameKey(options.platform ?? process.platform);
  const names = new Set<string>([...CREDENTIAL_INPUTS, ...(options.tokenEnv ? [options.tokenEnv] : [])]);
  const kept = new Set((options.passEnv ?? []).map(key));
  // DATABRICKS_TOKEN is always replaced by ours, so keeping the parent's is not a choice.
  return [...names].filter((n) => n === 'DATABRICKS_TOKEN' || !kept.has(key(n)));
}

/** --pass-env names that change nothing, each with a line saying so. */
export function passEnvWarnings(options: CommandEnvironmentOptions): string[] {
  const key = nameKey(options.platform ?? process.platform);
  const droppable = new Set(droppedVariables({ ...options, passEnv: [] }).map(key));
  return (options.passEnv ?? []).flatMap((name) => {
    if (key(name) === key('DATABRICKS_TOKEN'))
      return ['--pass-env DATABRICKS_TOKEN: the command always gets the fresh token in DATABRICKS_TOKEN.'];
    return droppable.has(key(name))
      ? []
      : [`--pass-env ${name}: exec does not drop ${name}, so this changes nothing.`];
  });
}

/** Windows variable names ignore case; a JavaScript object copied from the environment does not. */
function nameKey(platform: NodeJS.Platform): (name: string) => string {
  return platform === 'win32' ? (name) => name.toUpperCase() : (name) => name;
}

/**
 * exec's command's environment: the parent's, less the credential inputs, plus `service` (the
 * variables that reach the metadata service). On Windows, a parent variable that differs from
 * one of these only in case is dropped too, so the command never sees two spellings.
 */
export function commandEnvironment(
  parent: NodeJS.ProcessEnv,
  service: Record<string, string>,
  options: CommandEnvironmentOptions = {},
): NodeJS.ProcessEnv {
  const key = nameKey(options.platform ?? process.platform);
  const drop = new Set([...droppedVariables(options), ...Object.keys(service)].map(key));
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value !== undefined && !drop.has(key(name))) env[name] = value;
  }
  return { ...env, ...service };
}
