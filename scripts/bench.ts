// `npm run bench`: cold logins of the built action against the emulators, next to a bare
// `node -e 0` started the same way. Prints medians, the ratio, bundle size and peak memory.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { actionDefaults, ROOT } from '../test/e2e/github-runner.ts';
import { startEmulators } from '../test/emulators/index.ts';

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
} finally {
  await emu.stop();
  rmSync(dir, { recursive: true, force: true });
}
