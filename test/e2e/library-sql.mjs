// A Node program using the library: a token provider from the workload's identity, the fetch
// helper against the workspace, and the real @databricks/sql driver against a warehouse.
import { readFileSync } from 'node:fs';
import { DBSQLClient } from '@databricks/sql';
import {
  authorizedFetch,
  createTokenProvider,
  databricksSqlTokenProvider,
} from '../../packages/core/dist/index.js';

const provider = createTokenProvider({ tokenFile: process.env.TOKEN_FILE });
const databricksFetch = authorizedFetch(provider);
const me = await (await databricksFetch('/api/2.0/preview/scim/v2/Me')).json();

const client = new DBSQLClient();
let sqlError;
try {
  await client.connect({
    host: '127.0.0.1',
    port: Number(process.env.WAREHOUSE_PORT),
    path: '/sql/1.0/warehouses/0123456789abcdef',
    authType: 'token-provider',
    tokenProvider: databricksSqlTokenProvider(provider),
    customCaCert: readFileSync(process.env.WAREHOUSE_CA),
  });
  const session = await client.openSession();
  await session.close();
} catch (error) {
  // The stand-in warehouse only records the request; the driver's failure to go on is expected.
  sqlError = String(error?.message ?? error).slice(0, 200);
} finally {
  await client.close().catch(() => {});
}
// The driver logs to stdout too: our result is the line that starts with RESULT.
process.stdout.write(`\nRESULT ${JSON.stringify({ userName: me.userName, sqlError })}\n`);
process.exit(0);
