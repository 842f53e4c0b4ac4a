// `npm run bench`: cold logins of the built action against the emulators, next to a bare
// `node -e 0` started the same way. Prints medians, the ratio, bundle size and peak memory.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  githubIdTokenSource,
  httpForOneLogin,
  obtainCredential,
  planLogin,
  SecretRegistry,
  silentLogger,
  startMetadataServer,
  TokenProvider,
} from '../packages/core/src/index.ts';
import { actionDefaults, ROOT } from '../test/e2e/github-runner.ts';
import { type Emulators, startEmulators } from '../test/emulators/index.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const MAX_RSS =
  'data:text/javascript,process.on("exit",()=>process.stderr.write("\\nmaxrss="+process.resourceUsage().maxRSS))';

function timeProcess(
  args: string[],
  env: Record<string, string>,
): Promise<{ ms: number; code: number | null; stderr: string }> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) =>
    child.on('close', (code) =>
      resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, code, stderr }),
    ),
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** One GET to the metadata service, as an SDK sends it. Resolves with the status. */
function askMetadata(url: string, host: string, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { agent, headers: { 'x-databricks-metadata-version': '1', 'x-databricks-host': host } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The metadata service in process, backed by real exchanges with the emulators. */
async function benchMetadataService(emu: Emulators): Promise<void> {
  const secrets = new SecretRegistry();
  const plan = planLogin({ host: emu.databricks.url, clientId: emu.servicePrincipal.applicationId });
  const context = {
    idTokenSource: githubIdTokenSource(emu.github.requestUrl, emu.github.requestToken),
    secrets,
    log: silentLogger,
  };
  const audience = { audience: `${emu.databricks.url}/oidc/v1/token`, source: 'bench' };
  const provider = new TokenProvider(
    async () => (await obtainCredential(plan, audience, context, httpForOneLogin(plan, context))).credential,
  );
  const server = await startMetadataServer({ host: plan.host, provider, secrets, log: silentLogger });
  const agent = new Agent({ keepAlive: true, maxSockets: 1000 });
  try {
    // 1,000 concurrent requests while the token needs refreshing (none cached yet).
    const before = emu.databricks.requestsTo('/oidc/v1/token').length;
    const statuses = await Promise.all(
      Array.from({ length: 1000 }, () => askMetadata(server.url, plan.host, agent)),
    );
    const exchanges = emu.databricks.requestsTo('/oidc/v1/token').length - before;
    const ok = statuses.filter((s) => s === 200).length;
    // Latency of a cached token, one request at a time over a kept-alive connection.
    const latencies: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const t0 = process.hrtime.bigint();
      await askMetadata(server.url, plan.host, agent);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.floor((latencies.length - 1) * p)] ?? Number.NaN;
    console.log('metadata service (mode refresh):');
    console.log(
      `  1,000 concurrent requests needing a refresh: ${ok} answered 200, ${exchanges} upstream exchange(s) (target: 1)`,
    );
    console.log(
      `  cached token, ${latencies.length} sequential requests: p50 ${pct(0.5).toFixed(3)} ms, p99 ${pct(0.99).toFixed(3)} ms (target: p99 < 2 ms)`,
    );
  } finally {
    agent.destroy();
    await server.close();
  }
}

const emu = await startEmulators();
const dir = mkdtempSync(join(tmpdir(), 'bench-'));
try {
  const files = Object.fromEntries(
    ['GITHUB_ENV', 'GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_STEP_SUMMARY'].map((name) => [
      name,
      join(dir, name),
    ]),
  );
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    ...files,
    ...actionDefaults(),
    INPUT_MODE: 'token', // the login alone; mode refresh would leave a service per run
    INPUT_HOST: emu.databricks.url,
    'INPUT_CLIENT-ID': emu.servicePrincipal.applicationId,
    ...emu.github.env,
  };
  const main = join(ROOT, 'dist', 'main.cjs');
  const bare: number[] = [];
  const login: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    for (const file of Object.values(files)) writeFileSync(file, '');
    bare.push((await timeProcess(['-e', '0'], env)).ms);
    const run = await timeProcess([main], env);
    if (run.code !== 0) throw new Error(`login failed in run ${i}: ${run.stderr}`);
    login.push(run.ms);
  }
  const rss = async (args: string[]) => {
    const run = await timeProcess(['--import', MAX_RSS, ...args], env);
    return Number(/maxrss=(\d+)/.exec(run.stderr)?.[1] ?? Number.NaN) / 1024;
  };
  const bareMs = median(bare);
  const loginMs = median(login);
  console.log(
    `cold start, median of ${RUNS} runs (${emu.databricks.requestsTo('/oidc/v1/token').length} exchanges made):`,
  );
  console.log(`  node -e 0                      ${bareMs.toFixed(1)} ms`);
  console.log(
    `  dist/main.cjs, whole login     ${loginMs.toFixed(1)} ms  (ID token, exchange, SCIM Me, exports)`,
  );
  console.log(`  ratio                          ${(loginMs / bareMs).toFixed(2)}x  (target: 1.5x)`);
  console.log(
    `bundle: dist/main.cjs ${(statSync(main).size / 1024).toFixed(1)} KiB, dist/post.cjs ${(statSync(join(ROOT, 'dist', 'post.cjs')).size / 1024).toFixed(1)} KiB`,
  );
  console.log(
    `peak RSS: node -e 0 ${(await rss(['-e', '0'])).toFixed(1)} MiB, login ${(await rss([main])).toFixed(1)} MiB`,
  );
  await benchMetadataService(emu);
} finally {
  await emu.stop();
  rmSync(dir, { recursive: true, force: true });
}
