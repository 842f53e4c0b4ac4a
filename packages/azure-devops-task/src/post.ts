import { rmSync } from 'node:fs';
import { neutraliseRunnerCommands, stopMetadataService } from '@databricks-oidc-login/core';
import * as tl from 'azure-pipelines-task-lib/task.js';

/** postjobexecution: removes the token's config file, stops the metadata service and confirms it is gone. */
async function post(): Promise<void> {
  const configFile = tl.getTaskVariable('configFile');
  if (configFile) {
    rmSync(configFile, { force: true });
    console.log('Removed the Databricks config file that held the token.');
  }
  const pid = Number(tl.getTaskVariable('metadataServicePid'));
  if (!pid) {
    tl.debug('No metadata service to stop.');
    return;
  }
  if (await stopMetadataService(pid)) console.log(`Stopped the local metadata service (pid ${pid}).`);
  else tl.warning(`The local metadata service (pid ${pid}) did not stop.`);
}

post().catch((error: unknown) =>
  tl.warning(neutraliseRunnerCommands(`Post-job: ${error instanceof Error ? error.message : String(error)}`)),
);
