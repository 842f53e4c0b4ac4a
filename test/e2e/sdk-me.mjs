// A later step's view: the real Databricks SDK, configured by the environment alone.
import { WorkspaceClient } from '@databricks/sdk-experimental';

const client = new WorkspaceClient({});
const me = await client.currentUser.me();
process.stdout.write(JSON.stringify({ userName: me.userName }));
