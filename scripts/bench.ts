// `npm run bench`: one run, one table. Cold logins of the built GitHub Action and Azure DevOps
// task against the emulators, measured side by side with a bare `node -e 0` and with the floor
// (scripts/login-floor.mjs: the same requests with plain http, the same runner files), in
// interleaved rounds, as medians. Then the same logins behind 50 ms of latency per answer, with
// the TCP connections and sequential round trips counted on the emulators; fail-fast on an empty
// environment; peak RSS; bundle sizes; the metadata service; and redaction of hostile text.
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
  redactCredentialShapes,
  SecretRegistry,
  silentLogger,
  startMetadataServer,
  TokenProvider,
} from '../packages/core/src/index.ts';
import { agentEndpoints, TASK_DIR, taskDefaults } from '../test/e2e/azure-devops-agent.ts';
import { actionDefaults, ROOT } from '../test/e2e/github-runner.ts';
import { type Emulators, type RecordedRequest, startEmulators } from '../test/emulators/index.ts';

const ROUNDS = Math.max(15, Number(process.env.BENCH_RUNS ?? 21));
const LATENCY_MS = 50;
const MAX_RSS =
  'data:text/javascript,process.on("exit",()=>process.stderr.write("\\nmaxrss="+process.resourceUsage().maxRSS))';
const GITHUB_MAIN = join(ROOT, 'dist', 'main.cjs');
const TASK_MAIN = join(TASK_DIR, 'main.js');
const FLOOR = join(ROOT, 'scripts', 'login-floor.mjs');

interface ProcessRun {
  ms: number;
  code: number | null;
  stderr: string;
}

function timeProcess(args: string[], env: Record<string, string>, cwd?: string): Promise<ProcessRun> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, args, { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
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
/** The median of per-round ratios: both sides of each ratio ran in the same round, side by side. */
const medianRatio = (xs: number[], ys: number[]) => median(xs.map((x, i) => x / (ys[i] ?? Number.NaN)));

/** One variant of the benchmark: a node process, and the environment it runs in. */
interface Variant {
  name: string;
  args: string[];
  env: () => Record<string, string>;
  cwd?: string;
  /** Expected exit code: 0 for a login, non-zero for fail-fast. */
  fails?: boolean;
}

/** The runner files of a GitHub step, emptied before each run. */
function githubFiles(dir: string): Record<string, string> {
  const files = Object.fromEntries(
    ['GITHUB_ENV', 'GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_STEP_SUMMARY'].map((n) => [n, join(dir, n)]),
  );
  return files;
}

function githubEnv(emu: Emulators, dir: string): Record<string, string> {
  const files = githubFiles(dir);
  for (const file of Object.values(files)) writeFileSync(file, '');
  return {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    RUNNER_TEMP: dir,
    ...files,
    ...actionDefaults(),
    INPUT_HOST: emu.databricks.url,
    'INPUT_CLIENT-ID': emu.servicePrincipal.applicationId,
    INPUT_MODE: 'token',
    ...emu.github.env,
  };
}

function taskEnv(emu: Emulators, dir: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    AGENT_VERSION: '4.250.0',
    AGENT_TEMPDIRECTORY: dir,
    TF_BUILD: 'True',
    ...emu.azureDevOps.systemEnv,
    ...taskDefaults(),
    INPUT_HOST: emu.databricks.url,
    INPUT_CLIENTID: emu.servicePrincipal.applicationId,
    INPUT_MODE: 'token',
    ...agentEndpoints(emu, { includeConnection: false }),
  };
}

function variants(emu: Emulators, dir: string): Variant[] {
  return [
    { name: 'node -e 0', args: ['-e', '0'], env: () => ({ PATH: process.env.PATH ?? '' }) },
    { name: 'floor, GitHub', args: [FLOOR], env: () => githubEnv(emu, dir) },
    { name: 'GitHub Action login', args: [GITHUB_MAIN], env: () => githubEnv(emu, dir) },
    { name: 'floor, Azure DevOps', args: [FLOOR], env: () => taskEnv(emu, dir), cwd: dir },
    { name: 'Azure DevOps task login', args: [TASK_MAIN], env: () => taskEnv(emu, dir), cwd: dir },
    {
      name: 'fail-fast, empty environment',
      args: [GITHUB_MAIN],
      env: () => ({ PATH: process.env.PATH ?? '', HOME: dir }),
      fails: true,
    },
  ];
}

/** Interleaved rounds: every variant once per round, so drift in machine load hits all alike. */
async function timeRounds(
  list: Variant[],
  rounds: number,
  onRun?: (v: Variant) => void,
): Promise<Map<string, number[]>> {
  const times = new Map(list.map((v) => [v.name, [] as number[]]));
  for (let round = 0; round < rounds; round++) {
    for (const variant of list) {
      const run = await timeProcess(variant.args, variant.env(), variant.cwd);
      if ((run.code === 0) === Boolean(variant.fails))
        throw new Error(`${variant.name}: exit ${run.code} in round ${round}: ${run.stderr.slice(0, 2000)}`);
      times.get(variant.name)?.push(run.ms);
      onRun?.(variant);
    }
  }
  return times;
}

/**
 * Sequential round trips: the longest chain of requests in which each one starts after the
 * previous one was answered. Requests that overlap (in parallel) share a link of the chain.
 */
function sequentialRoundTrips(requests: RecordedRequest[]): number {
  const sorted = [...requests].sort((a, b) => a.at - b.at);
  const depth: number[] = [];
  sorted.forEach((r, i) => {
    let best = 0;
    for (let j = 0; j < i; j++) {
      const before = sorted[j];
      if (before?.answeredAt !== undefined && before.answeredAt <= r.at) best = Math.max(best, depth[j] ?? 0);
    }
    depth[i] = best + 1;
  });
  return Math.max(0, ...depth);
}

interface NetworkCount {
  connections: Record<string, number>;
  roundTrips: number;
}

/** Connections per emulator host and sequential round trips of one run of `variant`. */
async function countNetwork(emu: Emulators, variant: Variant): Promise<NetworkCount> {
  const servers = { 'ID token': emu.github, Databricks: emu.databricks, 'Azure DevOps': emu.azureDevOps };
  const before = Object.fromEntries(
    Object.entries(servers).map(([k, s]) => [k, { connections: s.connections, requests: s.requests.length }]),
  );
  const run = await timeProcess(variant.args, variant.env(), variant.cwd);
  if (run.code !== 0) throw new Error(`${variant.name} failed: ${run.stderr.slice(0, 2000)}`);
  const connections: Record<string, number> = {};
  const requests: RecordedRequest[] = [];
  for (const [name, server] of Object.entries(servers)) {
    const made = server.requests.slice(before[name]?.requests ?? 0);
    if (made.length === 0) continue;
    connections[name] = server.connections - (before[name]?.connections ?? 0);
    requests.push(...made);
  }
  return { connections, roundTrips: sequentialRoundTrips(requests) };
}

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
async function benchMetadataService(
  emu: Emulators,
): Promise<{ p50: number; p99: number; exchanges: number; ok: number }> {
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
    const before = emu.databricks.requestsTo('/oidc/v1/token').length;
    const statuses = await Promise.all(
      Array.from({ length: 1000 }, () => askMetadata(server.url, plan.host, agent)),
    );
    const exchanges = emu.databricks.requestsTo('/oidc/v1/token').length - before;
    for (let i = 0; i < 500; i++) await askMetadata(server.url, plan.host, agent); // warm-up, not counted
    const latencies: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const t0 = process.hrtime.bigint();
      await askMetadata(server.url, plan.host, agent);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.floor((latencies.length - 1) * p)] ?? Number.NaN;
    return { p50: pct(0.5), p99: pct(0.99), exchanges, ok: statuses.filter((s) => s === 200).length };
  } finally {
    agent.destroy();
    await server.close();
  }
}

/** The slowest redaction of 1 MiB of text shaped to make backtracking patterns quadratic. */
function benchRedaction(): { worstMs: number; shape: string } {
  const size = 1024 * 1024;
  const shapes = [
    'eyJ',
    'a',
    'a.',
    'eyJa.',
    'access_token ',
    'Bearer ',
    '"value": ',
    'dapi0123456789abcdef-',
  ];
  let worst = { worstMs: 0, shape: '' };
  for (const unit of shapes) {
    const text = unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
    const t0 = performance.now();
    redactCredentialShapes(text);
    const ms = performance.now() - t0;
    if (ms > worst.worstMs) worst = { worstMs: ms, shape: JSON.stringify(unit) };
  }
  return worst;
}

async function peakRss(variant: Variant): Promise<number> {
  const run = await timeProcess(['--import', MAX_RSS, ...variant.args], variant.env(), variant.cwd);
  return Number(/maxrss=(\d+)/.exec(run.stderr)?.[1] ?? Number.NaN) / 1024;
}

const emu = await startEmulators();
const slow = await startEmulators();
for (const server of [slow.github, slow.databricks, slow.azureDevOps]) server.latencyMs = LATENCY_MS;
const dir = mkdtempSync(join(tmpdir(), 'bench-'));
const slowDir = mkdtempSync(join(tmpdir(), 'bench-slow-'));
try {
  const list = variants(emu, dir);
  console.log(`Timing ${list.length} variants in ${ROUNDS} interleaved rounds...`);
  const times = await timeRounds(list, ROUNDS);
  const ms = (name: string) => median(times.get(name) ?? []);
  const ratio = (name: string, to: string) => medianRatio(times.get(name) ?? [], times.get(to) ?? []);

  const slowList = variants(slow, slowDir).filter(
    (v) => v.name.includes('login') || v.name.includes('floor'),
  );
  console.log(`Timing the same logins with ${LATENCY_MS} ms of latency per answer...`);
  const slowTimes = await timeRounds(slowList, ROUNDS);
  const slowMs = (name: string) => median(slowTimes.get(name) ?? []);
  const slowRatio = (name: string, to: string) =>
    medianRatio(slowTimes.get(name) ?? [], slowTimes.get(to) ?? []);
  const network = new Map<string, NetworkCount>();
  for (const variant of slowList) network.set(variant.name, await countNetwork(slow, variant));

  const rss = new Map<string, number>();
  for (const variant of list) rss.set(variant.name, await peakRss(variant));
  const service = await benchMetadataService(emu);
  const redaction = benchRedaction();

  const floorFor = (name: string) => (name.includes('Azure') ? 'floor, Azure DevOps' : 'floor, GitHub');
  const rows: string[][] = [
    [
      '',
      'median ms',
      'x node',
      'x floor',
      `+${LATENCY_MS} ms latency`,
      'connections/host',
      'round trips',
      'peak RSS MiB',
    ],
  ];
  for (const variant of list) {
    const name = variant.name;
    const isLogin = name.includes('login');
    const net = network.get(name);
    rows.push([
      name,
      ms(name).toFixed(1),
      ratio(name, 'node -e 0').toFixed(2),
      isLogin ? ratio(name, floorFor(name)).toFixed(2) : '',
      slowTimes.has(name)
        ? `${slowMs(name).toFixed(0)} ms${isLogin ? ` (${slowRatio(name, floorFor(name)).toFixed(2)}x floor)` : ''}`
        : '',
      net
        ? Object.entries(net.connections)
            .map(([h, n]) => `${h} ${n}`)
            .join(', ')
        : '',
      net ? String(net.roundTrips) : '',
      (rss.get(name) ?? Number.NaN).toFixed(1),
    ]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log('');
  console.log(
    `Cold start, medians of ${ROUNDS} interleaved rounds (token mode, no audience input, the host names none):`,
  );
  for (const row of rows) console.log(line(row));
  console.log('');
  const kib = (path: string) => (statSync(path).size / 1024).toFixed(1);
  console.log(
    `bundles: dist/main.cjs ${kib(GITHUB_MAIN)} KiB, dist/post.cjs ${kib(join(ROOT, 'dist', 'post.cjs'))} KiB, task main.js ${kib(TASK_MAIN)} KiB`,
  );
  console.log(
    `metadata service: cached token p50 ${service.p50.toFixed(3)} ms, p99 ${service.p99.toFixed(3)} ms (3,000 sequential requests); 1,000 concurrent requests needing a refresh: ${service.ok} answered 200 with ${service.exchanges} upstream exchange(s)`,
  );
  console.log(
    `redaction: 1 MiB of hostile text, slowest shape ${redaction.shape}: ${redaction.worstMs.toFixed(1)} ms`,
  );

  const gh = ratio('GitHub Action login', 'floor, GitHub');
  const ado = ratio('Azure DevOps task login', 'floor, Azure DevOps');
  const ghNet = network.get('GitHub Action login');
  const adoNet = network.get('Azure DevOps task login');
  const onePerHost = [ghNet, adoNet].every((n) => n && Object.values(n.connections).every((c) => c === 1));
  const targets: Array<[string, boolean, string]> = [
    ['GitHub login <= 1.25x the floor', gh <= 1.25, `${gh.toFixed(2)}x`],
    ['Azure DevOps task <= 1.6x the floor', ado <= 1.6, `${ado.toFixed(2)}x`],
    [
      '1 connection per host',
      onePerHost,
      [ghNet, adoNet].map((n) => JSON.stringify(n?.connections)).join(' '),
    ],
    [
      '3 sequential round trips (GitHub, no audience, none in the metadata)',
      ghNet?.roundTrips === 3,
      String(ghNet?.roundTrips),
    ],
    ['cached-token p99 <= 2 ms', service.p99 <= 2, `${service.p99.toFixed(3)} ms`],
    ['1 upstream exchange for 1,000 concurrent requests', service.exchanges === 1, String(service.exchanges)],
    [
      'redaction of 1 MiB hostile text well under 1 s',
      redaction.worstMs < 250,
      `${redaction.worstMs.toFixed(1)} ms`,
    ],
  ];
  console.log('');
  console.log('Targets:');
  for (const [what, met, value] of targets)
    console.log(`  ${met ? 'met    ' : 'NOT MET'}  ${what}: ${value}`);
} finally {
  await Promise.all([emu.stop(), slow.stop()]);
  rmSync(dir, { recursive: true, force: true });
  rmSync(slowDir, { recursive: true, force: true });
}
