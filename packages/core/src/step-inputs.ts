import { LoginError } from './safe-output/errors.ts';
import { quoteInput } from './safe-output/printable.ts';

/**
 * Parsers for the plain-text inputs both CI adapters receive. `name` is the input's name as the
 * user wrote it (timeout-seconds, timeoutSeconds), so messages point at the right field.
 */

/** One of `allowed`, or `fallback` when empty. */
export function readChoice<T extends string>(
  name: string,
  raw: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  const value = (raw ?? '').trim() || fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new LoginError(
    'INPUT_INVALID',
    `Failed to read input ${name}: ${quoteInput(value)} is not supported`,
    {
      hint: `Set ${name} to one of: ${allowed.join(', ')}.`,
    },
  );
}

/** true or false (any case), or `fallback` when empty. */
export function readBooleanInput(name: string, raw: string | undefined, fallback: boolean): boolean {
  const value = (raw ?? '').trim().toLowerCase();
  if (value === '') return fallback;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new LoginError(
    'INPUT_INVALID',
    `Failed to read input ${name}: ${quoteInput(value)} is not true or false`,
    {
      hint: `Set ${name} to true or false.`,
    },
  );
}

/** A number of seconds between 1 and 3600 (default 30), returned in milliseconds. */
export function readTimeoutSeconds(name: string, raw: string | undefined): number {
  const value = (raw ?? '').trim() || '30';
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || seconds <= 0 || seconds > 3600) {
    throw new LoginError(
      'INPUT_INVALID',
      `Failed to read input ${name}: ${quoteInput(value)} is not a number of seconds`,
      {
        hint: `Set ${name} to a number between 1 and 3600, e.g. 30.`,
      },
    );
  }
  return seconds * 1000;
}

/** Default safety lifetime of the metadata service: 5 days, the longest GitHub job on a self-hosted runner. */
export const DEFAULT_SERVICE_LIFETIME_MINUTES = 7200;

/** A whole number of minutes between 1 and 525600 (a year), default 7200; returned in milliseconds. */
export function readServiceLifetime(name: string, raw: string | undefined): number {
  const value = (raw ?? '').trim() || String(DEFAULT_SERVICE_LIFETIME_MINUTES);
  const minutes = Number(value);
  if (!/^\d+$/.test(value) || minutes < 1 || minutes > 525_600) {
    throw new LoginError(
      'INPUT_INVALID',
      `Failed to read input ${name}: "${value}" is not a number of minutes`,
      {
        hint: `Set ${name} to a whole number of minutes between 1 and 525600, at least as long as the job; default ${DEFAULT_SERVICE_LIFETIME_MINUTES} (5 days).`,
      },
    );
  }
  return minutes * 60_000;
}
