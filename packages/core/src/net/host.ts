import { LoginError } from '../safe-output/errors.ts';
import { hasControlCharacters, quoteInput } from '../safe-output/printable.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a UUID (an account ID or a service principal's application ID). */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** A host as users type it: https:// is added when no scheme is given. Throws on a non-URL. */
function parseHostInput(value: string): URL {
  return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`);
}

/**
 * Input sizes beyond any valid value. A URL input may carry a path and query that are dropped
 * (a workspace URL copied from the browser), so it gets room; a DNS name is at most 253
 * characters. Checked before any other work, so a huge input costs nothing and is never echoed.
 */
export const MAX_URL_INPUT_LENGTH = 2048;
export const MAX_HOST_NAME_LENGTH = 253;

/** A DNS name (letters, digits and hyphens in dot-separated labels) of at most 253 characters. */
const DNS_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** True for an Entra tenant: a GUID or a domain. Path segments such as `..` are not. */
export function isTenantId(value: string): boolean {
  return DNS_NAME.test(value);
}

/** Refuses an input longer than any valid value, naming its length rather than echoing it. */
export function assertLength(name: string, value: string, max: number): void {
  if (value.length > max) {
    throw new LoginError(
      'INPUT_INVALID',
      `Failed to read input ${name}: it is ${value.length} characters long, more than the ${max} any valid value needs`,
      {
        hint: `Check the variable or secret that sets ${name}; it begins ${quoteInput(value, 40)}.`,
      },
    );
  }
}

/** The accounts console host on AWS; Azure and GCP users pass theirs as `host`. */
export const DEFAULT_ACCOUNTS_HOST = 'https://accounts.cloud.databricks.com';

/** True for hosts that never leave the machine: 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHostname(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h);
}

/** Refuses control characters in any input: they could forge log commands or headers. */
export function assertPrintable(name: string, value: string): void {
  if (hasControlCharacters(value)) {
    throw new LoginError(
      'INPUT_INVALID',
      `Failed to read input ${name}: it contains a newline or another control character`,
      {
        hint: `Remove line breaks and control characters from ${name}; check the variable or secret it comes from.`,
      },
    );
  }
}

/**
 * Turns what a user typed into `scheme://host[:port]`: adds https:// when no scheme is given,
 * and drops path, query (`?o=123`), fragment and trailing slash. Refuses credentials in the URL
 * and plain http to anything but loopback, before any request is made.
 */
export function normalizeHost(raw: string | undefined, name = 'host'): string {
  const value = (raw ?? '').trim();
  if (!value) {
    throw new LoginError('HOST_MISSING', `Failed to read the Databricks ${name}: it is empty`, {
      hint: `Set the ${name} input, or a DATABRICKS_HOST variable, to your workspace URL, e.g. https://adb-1234567890123456.7.azuredatabricks.net.`,
    });
  }
  assertLength(name, value, MAX_URL_INPUT_LENGTH);
  assertPrintable(name, value);
  let url: URL;
  try {
    url = parseHostInput(value);
  } catch {
    throw new LoginError(
      'HOST_INVALID',
      `Failed to read the Databricks ${name}: ${quoteInput(value)} is not a URL`,
      {
        hint: `Set ${name} to a URL such as https://dbc-a1b2c3d4-e5f6.cloud.databricks.com.`,
      },
    );
  }
  if (url.username || url.password) {
    throw new LoginError(
      'HOST_INVALID',
      `Failed to read the Databricks ${name}: it contains a user name or password`,
      {
        hint: `Remove the credentials from ${name}; the login needs only scheme and host name.`,
      },
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new LoginError(
      'HOST_INVALID',
      `Failed to read the Databricks ${name}: scheme ${url.protocol} is not supported`,
      {
        hint: `Use an https:// URL for ${name}.`,
      },
    );
  }
  if (url.hostname.length > MAX_HOST_NAME_LENGTH) {
    throw new LoginError(
      'HOST_INVALID',
      `Failed to read the Databricks ${name}: its host name is ${url.hostname.length} characters long; DNS allows at most ${MAX_HOST_NAME_LENGTH}`,
      {
        hint: `Set ${name} to your workspace URL as the browser shows it, e.g. https://adb-1234567890123456.7.azuredatabricks.net.`,
      },
    );
  }
  if (url.protocol === 'http:' && !isLoopbackHostname(url.hostname)) {
    throw new LoginError(
      'HOST_INSECURE',
      `Failed to use ${name} ${url.origin}: plain http would send tokens unencrypted`,
      {
        hint: `Use https://${url.host}. Plain http is allowed only for loopback hosts (127.0.0.1, ::1, localhost).`,
      },
    );
  }
  return url.origin;
}

/**
 * An Entra authority: validated like a host (https, or http to loopback; no credentials), but
 * it keeps its path, since ADFS and Azure Stack authorities have one
 * (`https://adfs.example.com/adfs/`). Only trailing slashes, query and fragment are dropped.
 */
export function normalizeAuthority(raw: string | undefined, name = 'authority-host'): string {
  const origin = normalizeHost(raw, name);
  const value = (raw ?? '').trim();
  const url = parseHostInput(value);
  return `${origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** Validates a UUID input, and explains the numeric-ID mix-up users often make. */
export function normalizeUuid(name: string, raw: string | undefined): string | undefined {
  const value = (raw ?? '').trim();
  if (!value) return undefined;
  assertPrintable(name, value);
  if (UUID.test(value)) return value.toLowerCase();
  const numeric = /^\d+$/.test(value);
  throw new LoginError('INPUT_INVALID', `Failed to read input ${name}: ${quoteInput(value)} is not a UUID`, {
    hint: numeric
      ? `${name} takes the service principal's application ID (a UUID such as 6f1c2d3e-...), not its numeric ID. The numeric ID is only for the federation-policy commands.`
      : `Set ${name} to a UUID such as 6f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f.`,
  });
}

/** A workspace ID as the SDKs take it: `?o=` is numeric; `?w=` may be any identifier the server understands. */
const WORKSPACE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The workspace and account a host URL names in its query, as pasted from the workspace UI. */
export interface HostQueryIds {
  workspaceId: string | undefined;
  accountId: string | undefined;
}

/**
 * Reads `?w=`, `?o=` or `?workspace_id=` (the workspace) and `?a=` or `?account_id=` (the account)
 * from a host URL, as the Databricks SDKs do. Call after normalizeHost has accepted the URL.
 */
export function hostQueryIds(raw: string | undefined, name = 'host'): HostQueryIds {
  const value = (raw ?? '').trim();
  const query = parseHostInput(value).searchParams;
  const first = (...keys: string[]) =>
    keys.map((key) => query.get(key)?.trim()).find((v): v is string => !!v);
  const workspace = first('w', 'o', 'workspace_id');
  if (workspace !== undefined && !WORKSPACE_ID.test(workspace)) {
    throw new LoginError(
      'HOST_INVALID',
      `Failed to read the Databricks ${name}: its workspace ID ${quoteInput(workspace, 80)} (from ?w=, ?o= or ?workspace_id=) is not an ID`,
      {
        hint: `Paste the workspace URL as the browser shows it (e.g. https://example.cloud.databricks.com/?o=1234567890123456), or drop the query and set the workspace ID input.`,
      },
    );
  }
  const account = first('a', 'account_id');
  return {
    workspaceId: workspace,
    accountId: account === undefined ? undefined : normalizeUuid(`${name} (?a= or ?account_id=)`, account),
  };
}

/** Validates a workspace ID input: digits, or the identifier a unified host's `?w=` carries. */
export function readWorkspaceId(name: string, raw: string | undefined): string | undefined {
  const value = (raw ?? '').trim();
  if (!value) return undefined;
  assertLength(name, value, 64);
  assertPrintable(name, value);
  if (WORKSPACE_ID.test(value)) return value;
  throw new LoginError(
    'INPUT_INVALID',
    `Failed to read input ${name}: ${quoteInput(value)} is not a workspace ID`,
    {
      hint: `Set ${name} to the workspace ID, the number after ?o= in the workspace URL (e.g. 1234567890123456).`,
    },
  );
}
