// `databricks-oidc-token`: prints a fresh Databricks access token from the job's local metadata
// service (DATABRICKS_METADATA_SERVICE_URL, DATABRICKS_HOST), for tools without Databricks auth:
//   curl -H "Authorization: Bearer $(databricks-oidc-token)" "$DATABRICKS_HOST/api/2.0/..."
// stdout carries the token and nothing else; errors go to stderr with exit code 1.
import { describeFailure } from '../safe-output/errors.ts';
import { redactCredentialShapes } from '../safe-output/redaction.ts';
import { requestMetadataToken } from './metadata-client.ts';

requestMetadataToken(process.env.DATABRICKS_METADATA_SERVICE_URL, process.env.DATABRICKS_HOST).then(
  ({ accessToken }) => {
    process.stdout.write(`${accessToken}\n`);
  },
  (error: unknown) => {
    process.stderr.write(`databricks-oidc-token: ${redactCredentialShapes(describeFailure(error))}\n`);
    process.exitCode = 1;
  },
);
