import type { SecretRegistry } from './redaction.ts';

/** Where the core writes its plain-words transcript. Adapters map this to their CI's log. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

/** A logger that discards everything: for the metadata service's quiet paths and tests. */
export const silentLogger: Logger = { info() {}, warn() {}, debug() {} };

/** Wraps a logger so that every line passes through the secret registry first. */
export function redactingLogger(log: Logger, secrets: SecretRegistry): Logger {
  return {
    info: (m) => log.info(secrets.redact(m)),
    warn: (m) => log.warn(secrets.redact(m)),
    debug: (m) => log.debug(secrets.redact(m)),
  };
}
