// The physical floor of a login, for `npm run bench`: the same requests as the GitHub Action
// (or, under TF_BUILD, the Azure DevOps task) with plain `http`, one kept-alive connection per
// host, the ID token fetched alongside the host metadata, and the same runner files and
// commands written. No validation, no retries, no diagnostics: nothing a real step may skip is
// here, and nothing else. It assumes the emulators' happy path and fails loudly otherwise.
import { appendFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';

const agent = new Agent({ keepAlive: true });
const env = process.env;

function send(method, url, headers = {}, body) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = (response) => {
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${response.body.slice(0, 200)}`);
  return JSON.parse(response.body);
};

async function exchange(host, clientId, idToken) {
  const form = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: idToken,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    scope: 'all-apis',
    client_id: clientId,
  }).toString();
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  return json(await send('POST', `${host}/oidc/v1/token`, headers, form));
}

async function me(host, token) {
  return json(await send('GET', `${host}/api/2.0/preview/scim/v2/Me`, { authorization: `Bearer ${token}` }))
    .userName;
}

async function github() {
  const host = env.INPUT_HOST;
  const tokenUrl = new URL(env.ACTIONS_ID_TOKEN_REQUEST_URL);
  tokenUrl.searchParams.set('audience', `${host}/oidc/v1/token`);
  const auth = { authorization: `Bearer ${env.ACTIONS_ID_TOKEN_REQUEST_TOKEN}` };
  const [idToken] = await Promise.all([
    send('GET', tokenUrl.href, auth).then((r) => json(r).value),
    send('GET', `${host}/.well-known/databricks-config`),
  ]);
  process.stdout.write(`::add-mask::${idToken}\n`);
  const answer = await exchange(host, env['INPUT_CLIENT-ID'], idToken);
  process.stdout.write(`::add-mask::${answer.access_token}\n`);
  const principal = await me(host, answer.access_token);
  const expiresAt = new Date(Date.now() + answer.expires_in * 1000).toISOString();
  const file = (name, pairs) =>
    appendFileSync(
      env[name],
      Object.entries(pairs)
        .map(([k, v]) => `${k}<<EOF\n${v}\nEOF\n`)
        .join(''),
    );
  file('GITHUB_ENV', {
    DATABRICKS_HOST: host,
    DATABRICKS_TOKEN: answer.access_token,
    DATABRICKS_AUTH_TYPE: 'pat',
  });
  file('GITHUB_OUTPUT', { host, token: answer.access_token, 'expires-at': expiresAt, principal });
  appendFileSync(
    env.GITHUB_STEP_SUMMARY,
    `<h3>Databricks OIDC login</h3><table><tr><th>Host</th><td>${host}</td></tr><tr><th>Principal</th><td>${principal}</td></tr></table>\n`,
  );
  process.stdout.write(`Logged in to ${host} as ${principal}\n`);
}

async function azureDevOps() {
  const host = env.INPUT_HOST;
  const jobToken = JSON.parse(env.ENDPOINT_AUTH_SYSTEMVSSCONNECTION).parameters.AccessToken;
  const oidcUrl =
    `${env.SYSTEM_COLLECTIONURI}${env.SYSTEM_TEAMPROJECTID}/_apis/distributedtask/hubs/${env.SYSTEM_HOSTTYPE}` +
    `/plans/${env.SYSTEM_PLANID}/jobs/${env.SYSTEM_JOBID}/oidctoken?api-version=7.1`;
  const headers = { authorization: `Bearer ${jobToken}`, 'content-type': 'application/json' };
  const idToken = json(await send('POST', oidcUrl, headers, '{}')).oidcToken;
  process.stdout.write(`##vso[task.setsecret]${idToken}\n`);
  const answer = await exchange(host, env.INPUT_CLIENTID, idToken);
  process.stdout.write(`##vso[task.setsecret]${answer.access_token}\n`);
  const principal = await me(host, answer.access_token);
  const set = (name, value, secret = false, output = false) =>
    process.stdout.write(
      `##vso[task.setvariable variable=${name};isSecret=${secret};isOutput=${output};]${value}\n`,
    );
  const configFile = join(env.AGENT_TEMPDIRECTORY, 'floor.databrickscfg');
  writeFileSync(configFile, `[floor]\nhost = ${host}\ntoken = ${answer.access_token}\n`, { mode: 0o600 });
  set('DATABRICKS_CONFIG_FILE', configFile);
  set('DATABRICKS_TOKEN', answer.access_token, true);
  set('DATABRICKS_HOST', host);
  set('DATABRICKS_AUTH_TYPE', 'pat');
  set('host', host, false, true);
  set('principal', principal, false, true);
  process.stdout.write(`##vso[task.complete result=Succeeded;]Logged in to ${host} as ${principal}\n`);
}

await (env.TF_BUILD ? azureDevOps() : github());
