// `databricks-oidc-token`: prints a fresh Databricks access token from the job's local metadata
// service (DATABRICKS_METADATA_SERVICE_URL, DATABRICKS_HOST), for tools without Databricks auth:
//   curl -H "Authorization: Bearer $(databricks-oidc-token)" "$DATABRICKS_HOST/api/2.0/..."
// stdout carries the token and nothing else; errors go to stderr with exit code 1.
import { describeFailure } from '../safe-output/errors.ts';
import { neutraliseRunnerCommands } from '../safe-output/printable.ts';
import { redactCredentialShapes } from '../safe-output/redaction.ts';
import { requestMetadataToken } from './metadata-client.ts';

requestMetadataToken(process.env.DATABRICKS_METADATA_SERVICE_URL, process.env.DATABRICKS_HOST).then(
  ({ accessToken }) => {
    // Raw is safe: requestMetadataToken takes only a token-shaped value (no quote, `::`, `##`, escape).
    process.stdout.write(`${accessToken}\n`);
  },
  (error: unknown) => {
    // `$(databricks-oidc-token)` captures stdout only: stderr is in the job log, where the runner
    // reads commands, and it carries the service's (or a port squatter's) words.
    const message = neutraliseRunnerCommands(redactCredentialShapes(describeFailure(error)));
    process.stderr.write(`databricks-oidc-token: ${message}\n`);
    process.exitCode = 1;
  },
);
