import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { LoginResult } from './login.ts';
import { LoginError } from './safe-output/errors.ts';
import { hasControlCharacters, quoteInput } from './safe-output/printable.ts';
import { writePrivateFile } from './serve/private-file.ts';

/**
 * What every later step learns about the host, whatever the mode: the bare origin, and the
 * workspace and account when known. On a unified host, @databricks/sdk-experimental 0.17 also needs
 * DATABRICKS_EXPERIMENTAL_IS_UNIFIED_HOST to send the workspace header (newer SDKs read the host's
 * metadata instead), and it needs the account ID even for a workspace.
 */
export function hostVariables(result: LoginResult): Array<[string, string]> {
  const vars: Array<[string, string]> = [['DATABRICKS_HOST', result.host]];
  if (result.accountId) vars.push(['DATABRICKS_ACCOUNT_ID', result.accountId]);
  if (result.workspaceId) vars.push(['DATABRICKS_WORKSPACE_ID', result.workspaceId]);
  if (result.hostShape === 'unified') vars.push(['DATABRICKS_EXPERIMENTAL_IS_UNIFIED_HOST', 'true']);
  return vars;
}

/** A profile name as a config file section can hold it: no brackets, spaces or line breaks. */
const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The profile input, checked; undefined when empty. */
export function readProfileName(name: string, raw: string | undefined): string | undefined {
  const value = (raw ?? '').trim();
  if (!value) return undefined;
  if (PROFILE_NAME.test(value)) return value;
  throw new LoginError(
    'INPUT_INVALID',
    `Failed to read input ${name}: ${hasControlCharacters(value) ? 'it contains a control character' : `${quoteInput(value, 80)} is not a profile name`}`,
    {
      hint: `Set ${name} to the profile your bundle or command names (workspace.profile, --profile): letters, digits, '.', '_' and '-', at most 64.`,
    },
  );
}

/** How the profile's tools get their token. */
export type ProfileCredential = { kind: 'metadata-service'; url: string } | { kind: 'token'; token: string };

/**
 * The text of a Databricks config file with one section: the host, the workspace or account,
 * and the credential. In mode refresh it names the metadata service, so every tool configured by
 * the profile alone stays authenticated for the whole job.
 */
export function configProfileText(
  profile: string,
  result: LoginResult,
  credential: ProfileCredential,
): string {
  const lines = [`[${profile}]`, `host = ${result.host}`];
  if (result.workspaceId) lines.push(`workspace_id = ${result.workspaceId}`);
  if (result.accountId) lines.push(`account_id = ${result.accountId}`);
  if (result.hostShape === 'unified') lines.push('experimental_is_unified_host = true');
  if (credential.kind === 'metadata-service') {
    lines.push('auth_type = metadata-service', `metadata_service_url = ${credential.url}`);
  } else {
    lines.push('auth_type = pat', `token = ${credential.token}`);
  }
  for (const line of lines) {
    // Every value is ours or checked, but a line break would start another key: never write one.
    if (hasControlCharacters(line)) throw new Error('a config profile value holds a control character');
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Writes the profile to a new file only this user can read (0600, created exclusively, so a
 * planted file or symlink is an error) in `directory`, the runner's temp folder. Returns its path.
 */
export function writeConfigProfile(
  directory: string,
  profile: string,
  result: LoginResult,
  credential: ProfileCredential,
): string {
  const path = join(directory, `databricks-oidc-login-${randomBytes(6).toString('hex')}.databrickscfg`);
  writePrivateFile(path, configProfileText(profile, result, credential));
  return path;
}
