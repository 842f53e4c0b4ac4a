import { existsSync, readFileSync, rmSync } from 'node:fs';
import * as core from '@actions/core';
import {
  neutraliseRunnerCommands,
  redactCredentialShapes,
  stopMetadataService,
} from '@databricks-oidc-login/core';

/** The post step: stops the metadata service of mode refresh, and confirms it is gone. */
async function post(): Promise<void> {
  const pid = Number(core.getState('metadata-service-pid'));
  if (!pid) {
    core.debug('No metadata service to stop.');
    return;
  }
  const logFile = core.getState('metadata-service-log');
  if (logFile && existsSync(logFile)) {
    core.startGroup('Metadata service log');
    // The log holds server text: no line of it may become a workflow command.
    core.info(neutraliseRunnerCommands(redactCredentialShapes(readFileSync(logFile, 'utf8'))));
    core.endGroup();
    rmSync(logFile, { force: true });
  }
  if (await stopMetadataService(pid)) core.info(`Stopped the local metadata service (pid ${pid}).`);
  else core.warning(`The local metadata service (pid ${pid}) did not stop; the runner ends it with the job.`);
}

post().catch((error: unknown) =>
  core.warning(
    neutraliseRunnerCommands(`Post step: ${error instanceof Error ? error.message : String(error)}`),
  ),
);
