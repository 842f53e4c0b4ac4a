import { rmSync } from 'node:fs';
import {
  neutraliseRunnerCommands,
  redactCredentialShapes,
  stopOwnMetadataService,
  takeServiceLog,
} from '@databricks-oidc-login/core';
import * as tl from 'azure-pipelines-task-lib/task.js';

/**
 * postjobexecution: removes the token's config file (mode token); in mode refresh, stops the
 * metadata service only after it confirmed at its secret URL that it runs as the recorded PID,
 * then shows and removes its log. Nothing of the task is left behind.
 */
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
  const stop = await stopOwnMetadataService(pid, tl.getTaskVariable('metadataServiceUrl'));
  if (stop.outcome === 'stopped' || stop.outcome === 'already-gone') console.log(stop.message);
  else tl.warning(stop.message);
  const logFile = tl.getTaskVariable('metadataServiceLog');
  const log = logFile ? takeServiceLog(logFile) : undefined;
  if (log !== undefined)
    console.log(`Metadata service log:\n${neutraliseRunnerCommands(redactCredentialShapes(log))}`);
}

post().catch((error: unknown) =>
  tl.warning(neutraliseRunnerCommands(`Post-job: ${error instanceof Error ? error.message : String(error)}`)),
);
