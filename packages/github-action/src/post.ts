import { rmSync } from 'node:fs';
import * as core from '@actions/core';
import {
  neutraliseRunnerCommands,
  redactCredentialShapes,
  stopOwnMetadataService,
  takeServiceLog,
} from '@databricks-oidc-login/core';

/**
 * The post step of mode refresh: shows and removes the service log, and stops the metadata
 * service only after it confirmed, at its secret URL, that it runs as the PID in the state.
 */
async function post(): Promise<void> {
  // The config profile (input profile) holds a token or the service URL: it ends with the job.
  const configFile = core.getState('config-file');
  if (configFile) {
    rmSync(configFile, { force: true });
    core.info('Removed the config profile file.');
  }
  const pid = Number(core.getState('metadata-service-pid'));
  if (!pid) {
    core.debug('No metadata service to stop.');
    return;
  }
  const url = core.getState('metadata-service-url');
  if (url) core.setSecret(url);
  const stop = await stopOwnMetadataService(pid, url || undefined);
  if (stop.outcome === 'stopped' || stop.outcome === 'already-gone') core.info(stop.message);
  else core.warning(stop.message);
  const logFile = core.getState('metadata-service-log');
  const log = logFile ? takeServiceLog(logFile) : undefined;
  if (log !== undefined) {
    core.startGroup('Metadata service log');
    // The log holds server text: no line of it may become a workflow command.
    core.info(neutraliseRunnerCommands(redactCredentialShapes(log)));
    core.endGroup();
  }
}

post().catch((error: unknown) =>
  core.warning(
    neutraliseRunnerCommands(`Post step: ${error instanceof Error ? error.message : String(error)}`),
  ),
);
