# The real Databricks SDK for Python, configured by the environment (and any config file it names)
# alone, calling SCIM Me `count` times, `interval` seconds apart: one JSON line per call.
import json
import sys
import time

from databricks.sdk import WorkspaceClient

count = int(sys.argv[1]) if len(sys.argv) > 1 else 1
interval = float(sys.argv[2]) if len(sys.argv) > 2 else 0
client = WorkspaceClient()
for call in range(count):
    if call:
        time.sleep(interval)
    me = client.current_user.me()
    print(json.dumps({"userName": me.user_name, "authType": client.config.auth_type}), flush=True)
