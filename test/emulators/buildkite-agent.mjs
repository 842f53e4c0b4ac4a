#!/usr/bin/env node
// A stand-in for `buildkite-agent oidc request-token --audience AUD`: it asks the agent API at
// BUILDKITE_AGENT_ENDPOINT for the job's token, as the real agent does, and prints it.
const args = process.argv.slice(2);
if (args[0] !== 'oidc' || args[1] !== 'request-token') {
  process.stderr.write(`buildkite-agent: unknown command ${args.join(' ')}\n`);
  process.exit(1);
}
const at = args.indexOf('--audience');
const audience = at >= 0 ? args[at + 1] : undefined;
const endpoint = process.env.BUILDKITE_AGENT_ENDPOINT;
const response = await fetch(`${endpoint}/jobs/${process.env.BUILDKITE_JOB_ID}/oidc/tokens`, {
  method: 'POST',
  headers: {
    authorization: `Token ${process.env.BUILDKITE_AGENT_ACCESS_TOKEN}`,
    'content-type': 'application/json',
  },
  body: JSON.stringify(audience ? { audience } : {}),
});
if (response.status !== 201) {
  process.stderr.write(`fatal: failed to get OIDC token: POST ${endpoint}: ${response.status}\n`);
  process.exit(1);
}
process.stdout.write(`${(await response.json()).token}\n`);
