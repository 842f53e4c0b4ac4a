import * as core from '@actions/core';

/** The post step: in token mode there is nothing to stop; it must still succeed. */
function post(): void {
  const mode = core.getState('mode');
  core.debug(mode === 'refresh' ? 'Stopping the metadata service.' : 'Token mode: nothing to clean up.');
}

post();
