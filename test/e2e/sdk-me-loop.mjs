// A long command's view: the real Databricks SDK, configured by the environment alone, calling
// Databricks `count` times, `intervalMs` apart, so the calls span token expiries.
import { WorkspaceClient } from '@databricks/sdk-experimental';

const [count = '2', intervalMs = '1000'] = process.argv.slice(2);
const client = new WorkspaceClient({});
for (let i = 0; i < Number(count); i++) {
  if (i > 0) await new Promise((resolve) => setTimeout(resolve, Number(intervalMs)));
  const me = await client.currentUser.me();
  process.stdout.write(
    `${JSON.stringify({ call: i + 1, userName: me.userName, at: new Date().toISOString() })}\n`,
  );
}
