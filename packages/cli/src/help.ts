import type { Command } from './options.ts';

const OPTIONS = `Options (each falls back to the environment variable in brackets):
  --host URL                     workspace URL, or the accounts host with --account-id [DATABRICKS_HOST]
  --client-id UUID               service principal application ID; with --provider azure the Entra app
                                 or managed identity [DATABRICKS_CLIENT_ID; AZURE_CLIENT_ID on AKS]
  --account-id UUID              account-level token [DATABRICKS_ACCOUNT_ID]
  --workspace-id ID              the workspace on a unified host; also ?w= or ?o= in --host
                                 [DATABRICKS_WORKSPACE_ID]
  --audience AUD                 ID token audience, for sources that request one [DATABRICKS_TOKEN_AUDIENCE]
  --provider NAME                databricks (token federation, default), azure (Entra ID), google
  --tenant-id ID                 Entra tenant, provider azure [AZURE_TENANT_ID]
  --authority-host URL           Entra authority [AZURE_AUTHORITY_HOST]
  --auth-type TYPE               auto (default), oidc, m2m or pat [client secret: DATABRICKS_CLIENT_SECRET;
                                 personal access token: DATABRICKS_TOKEN]
  --token-source NAME            auto (default), github, azure-devops, gitlab, circleci, bitbucket,
                                 buildkite, terraform-cloud, azure-workload-identity, kubernetes,
                                 kubernetes-token-request, gcp-metadata, env, file
  --token-env NAME               variable holding the ID token [DATABRICKS_OIDC_TOKEN_ENV]
  --token-file PATH              file holding the ID token, re-read on every refresh [DATABRICKS_OIDC_TOKEN_FILEPATH]
  --k8s-service-account NS/NAME  kubernetes-token-request: the service account to mint a token for
  --k8s-sa-dir DIR               the pod's service-account folder (token, ca.crt, namespace)
  --workload-identity-provider P provider google: projects/N/locations/global/workloadIdentityPools/P/providers/V
  --service-account EMAIL        provider google: the Google service account
  --timeout-seconds N            per-request timeout (default 30)
  --no-verify                    skip the SCIM Me check of the new token
  -q, --quiet                    only warnings and errors on stderr
  -h, --help                     this help`;

const TOOL = `databricks-oidc-login: log in to Databricks with this workload's own OIDC identity (no secret).

Usage: databricks-oidc-login COMMAND [options]

Commands:
  env      log in and print the variables to export: eval "$(databricks-oidc-login env)"
  exec     log in, then run a command with a token that stays fresh: exec -- databricks bundle deploy
  serve    serve fresh tokens to the Databricks SDKs and CLI until stopped (a sidecar, a long session)
  token    print one fresh access token
  explain  show the ID token's claims and the federation policy that accepts it; exchanges nothing

Results go to stdout, messages to stderr. Exit codes: 0 success, 1 login failed, 2 bad usage;
exec exits with its command's code. Run 'databricks-oidc-login COMMAND --help' for details.`;

const COMMAND_HELP: Record<Command, string> = {
  env: `Usage: databricks-oidc-login env [--format sh|powershell|dotenv|json] [--profile NAME] [options]

Logs in and prints DATABRICKS_HOST, DATABRICKS_TOKEN and DATABRICKS_AUTH_TYPE=pat (and
DATABRICKS_ACCOUNT_ID and DATABRICKS_WORKSPACE_ID when known) for the shell to export:
  eval "$(databricks-oidc-login env)"                                   # sh (default)
  databricks-oidc-login env --format powershell | Invoke-Expression     # PowerShell
  databricks-oidc-login env --format json                              # one JSON object
  databricks-oidc-login env --format dotenv > .env                     # docker --env-file, set -a; . .env
dotenv values are unquoted, so docker --env-file and a shell read them alike; a value they would
read differently is refused (use sh or json). The token lives as long as the ID token it came
from; for long commands use exec.
With --profile NAME, also writes a 0600 config file with that profile (for databricks --profile
NAME and bundles with workspace.profile) and prints DATABRICKS_CONFIG_FILE; remove it when done.`,
  exec: `Usage: databricks-oidc-login exec [--pass-env NAME]... [--profile NAME] [options] -- COMMAND [ARGS...]

Logs in, serves the Databricks metadata-service protocol on 127.0.0.1 from this process, and runs
COMMAND with DATABRICKS_HOST, DATABRICKS_AUTH_TYPE=metadata-service, DATABRICKS_METADATA_SERVICE_URL
and DATABRICKS_TOKEN (the first token) in its environment. The SDKs and the Databricks CLI ask the
service for a fresh token whenever theirs is about to expire. The service stops when COMMAND ends.
Exits with COMMAND's code, 128+N when a signal N ended it, and 127 when it cannot be started.
  databricks-oidc-login exec -- databricks bundle deploy

COMMAND keeps the rest of the environment but not the credentials this tool logs in with:
DATABRICKS_CLIENT_SECRET, the ID token (DATABRICKS_OIDC_TOKEN or the --token-env variable,
CIRCLE_OIDC_TOKEN(_V2), BITBUCKET_STEP_OIDC_TOKEN, TFC_WORKLOAD_IDENTITY_TOKEN),
DATABRICKS_OIDC_TOKEN_FILEPATH, ACTIONS_ID_TOKEN_REQUEST_TOKEN/_URL and SYSTEM_ACCESSTOKEN.
--pass-env NAME (repeatable) keeps one of them. DATABRICKS_TOKEN is always the fresh token.

Signals: SIGTERM is passed on once. In a terminal, Ctrl-C reaches COMMAND directly, once, and
exec waits for it to finish; elsewhere (CI, a pod) SIGINT and SIGHUP sent to exec are passed on.
On Windows, COMMAND is found through PATH and PATHEXT (npm runs npm.cmd, through cmd.exe) and
Ctrl-C reaches it from the console; exec forwards nothing.`,
  serve: `Usage: databricks-oidc-login serve [--port N] [--url-file PATH] [options]

Logs in and serves fresh tokens with the Databricks metadata-service protocol on 127.0.0.1 until
SIGTERM or SIGINT (exit 0). Prints the service URL on stdout, or with --url-file writes it to a
0600 file (for another container of the pod) and removes it on exit. The URL's random path
guards it, also on a fixed --port. Clients set DATABRICKS_AUTH_TYPE=metadata-service,
DATABRICKS_METADATA_SERVICE_URL=<the URL> and DATABRICKS_HOST.`,
  token: `Usage: databricks-oidc-login token [--json] [--google-access-token] [options]

Logs in and prints one access token on stdout (with --json: {"access_token", "expires_at"}; a
personal access token's expires_at is null):
  curl -H "Authorization: Bearer $(databricks-oidc-login token)" "$DATABRICKS_HOST/api/2.0/clusters/list"
With --provider google, --google-access-token prints the service account's Google access token
instead, for the X-Databricks-GCP-SA-Access-Token header of account APIs.`,
  explain: `Usage: databricks-oidc-login explain [options]

Reads the ID token from the token source, exchanges nothing, and prints its claims, where it came
from, and the federation policy that accepts it (JSON and the databricks CLI command that creates
it). Exit 0 when a token was read. Sources that request an audience need --host or --audience.`,
};

/** Help for the tool, or for one command; both end with the options. */
export function helpText(command: Command | undefined): string {
  return `${command ? COMMAND_HELP[command] : TOOL}\n\n${OPTIONS}\n`;
}
