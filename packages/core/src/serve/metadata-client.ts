import { request } from 'node:http';
import { isTokenShaped } from '../exchange/credential.ts';
import { parseJsonObject } from '../net/http.ts';
import { LoginError } from '../safe-output/errors.ts';
import { excerpt } from '../safe-output/server-answer.ts';

const HINT =
  'Run this in a later step of the job whose databricks-oidc-login step ran in mode refresh with export-env true, ' +
  'or set DATABRICKS_METADATA_SERVICE_URL and DATABRICKS_HOST from its outputs (metadata-service-url, host).';

function failed(why: string, hint = HINT): LoginError {
  return new LoginError(
    'METADATA_SERVICE_FAILED',
    `Failed to get a token from the local metadata service: ${why}`,
    {
      hint,
    },
  );
}

/**
 * Asks the job's local metadata service for a fresh access token, exactly as the Databricks
 * SDKs do (`X-Databricks-Metadata-Version: 1`, `X-Databricks-Host`). Only loopback http URLs
 * are accepted, as the SDKs require. The client of `databricks-oidc-token`.
 */
export function requestMetadataToken(
  url: string | undefined,
  host: string | undefined,
  timeoutMs = 15_000,
): Promise<{ accessToken: string; expiresAt: Date }> {
  if (!url) return Promise.reject(failed('DATABRICKS_METADATA_SERVICE_URL is not set'));
  if (!host) return Promise.reject(failed('DATABRICKS_HOST is not set'));
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.reject(failed('DATABRICKS_METADATA_SERVICE_URL is not a URL'));
  }
  if (target.protocol !== 'http:' || !['127.0.0.1', 'localhost'].includes(target.hostname)) {
    return Promise.reject(
      failed('DATABRICKS_METADATA_SERVICE_URL must be an http URL on 127.0.0.1 or localhost'),
    );
  }
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: 'GET',
        headers: { 'x-databricks-metadata-version': '1', 'x-databricks-host': host },
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < 64 * 1024) body += chunk;
        });
        res.on('end', () => {
          const answer = parseJsonObject(body);
          const token = answer?.access_token;
          // Whoever answers on the port (after the service stopped, another local user could) gets
          // its token printed raw only if it has a token's shape.
          if (res.statusCode === 200 && isTokenShaped(token)) {
            resolve({ accessToken: token, expiresAt: new Date(Number(answer?.expires_on) * 1000) });
            return;
          }
          const said =
            typeof answer?.error_description === 'string'
              ? `: ${excerpt(answer.error_description, 500)}`
              : res.statusCode === 200
                ? ' without a usable access_token'
                : '';
          reject(
            failed(
              `it answered HTTP ${res.statusCode}${said}`,
              res.statusCode === 403
                ? 'DATABRICKS_HOST must name the host the login step used (letter case, :443 and a trailing slash do not matter).'
                : "The reason above says what failed upstream; the service retries by itself, so try again shortly. The login step's post step shows the service log.",
            ),
          );
        });
        res.on('error', (error) => reject(failed(error.message)));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', (error) =>
      reject(
        failed(
          `cannot reach it (${(error as NodeJS.ErrnoException).code ?? error.message})`,
          'The service runs only during the job that started it, until its post step; check that this step runs in that job.',
        ),
      ),
    );
    req.end();
  });
}
