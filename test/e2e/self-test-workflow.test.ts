import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { isProcessAlive, stopMetadataService } from '../../packages/core/src/index.ts';
import { parseFileCommands, ROOT, runActionStep } from './github-runner.ts';
import { runNodeScript } from './node-process.ts';

// self-test.yml cannot run here; this walks through its steps on this machine instead: start the
// emulators as the workflow does, run the built action with the step's `with:` (expressions
// resolved as the runner would), let the real SDK verify as a later step, then stop everything.

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, string>;
}
const workflow = parse(readFileSync(join(ROOT, '.github/workflows/self-test.yml'), 'utf8')) as {
  jobs: Record<string, { strategy: { matrix: { mode: string[] } }; steps: Step[] }>;
};
const job = Object.values(workflow.jobs)[0];
const selfTest = (command: string) => ['node', 'build/self-test.mjs', command].join(' ');

/** `${{ env.X }}` and `${{ matrix.Y }}`, as the runner expands them. */
function expand(value: string, env: Record<string, string>, matrix: Record<string, string>): string {
  return value.replace(/\$\{\{\s*(env|matrix)\.([\w-]+)\s*\}\}/g, (_, scope: string, name: string) =>
    String((scope === 'env' ? env : matrix)[name] ?? ''),
  );
}

describe('self-test.yml, walked through locally', () => {
  for (const mode of job?.strategy.matrix.mode ?? []) {
    it(`starts the emulators, logs in with uses: ./ in mode ${mode}, verifies with the SDK, and stops`, async () => {
      const runnerTemp = mkdtempSync(join(tmpdir(), 'self-test-'));
      const githubEnv = join(runnerTemp, 'github-env');
      writeFileSync(githubEnv, '');
      const base = { PATH: process.env.PATH ?? '', RUNNER_TEMP: runnerTemp, HOME: runnerTemp };
      let jobEnv: Record<string, string> = {};
      let servicePid = 0;
      try {
        const commands = job?.steps.map((s) => s.run) ?? [];
        expect(commands).toEqual(
          expect.arrayContaining([selfTest('start'), selfTest('verify'), selfTest('stop')]),
        );

        const start = await runNodeScript(
          join(ROOT, 'build/self-test.mjs'),
          { ...base, GITHUB_ENV: githubEnv },
          {
            args: ['start'],
            cwd: ROOT,
          },
        );
        expect(start.code, start.stderr).toBe(0);
        jobEnv = parseFileCommands(readFileSync(githubEnv, 'utf8'));
        expect(Object.keys(jobEnv).sort()).toEqual([
          'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
          'ACTIONS_ID_TOKEN_REQUEST_URL',
          'SELFTEST_CLIENT_ID',
          'SELFTEST_HOST',
          'SELFTEST_PID',
        ]);

        const login = job?.steps.find((s) => s.uses === './');
        const inputs = Object.fromEntries(
          Object.entries(login?.with ?? {}).map(([k, v]) => [k, expand(String(v), jobEnv, { mode })]),
        );
        const main = await runActionStep('main', { inputs, env: jobEnv, runnerTemp });
        servicePid = Number(main.state['metadata-service-pid']);
        expect(main.errors).toEqual([]);
        expect(main.outputs.host).toBe(jobEnv.SELFTEST_HOST);
        expect(main.outputs.principal).toBe(jobEnv.SELFTEST_CLIENT_ID);

        const verify = await runNodeScript(
          join(ROOT, 'build/self-test.mjs'),
          { ...base, ...jobEnv, ...main.exportedEnv },
          { args: ['verify'], cwd: ROOT },
        );
        expect(verify.code, verify.stderr).toBe(0);
        expect(verify.stdout).toContain(`as ${jobEnv.SELFTEST_CLIENT_ID}`);

        const post = await runActionStep('post', { state: main.state, runnerTemp });
        expect(post.code).toBe(0);
      } finally {
        if (servicePid) await stopMetadataService(servicePid);
        const stop = await runNodeScript(
          join(ROOT, 'build/self-test.mjs'),
          { ...base, ...jobEnv },
          {
            args: ['stop'],
            cwd: ROOT,
          },
        );
        rmSync(runnerTemp, { recursive: true, force: true });
        expect(stop.code).toBe(0);
      }
      const emulatorPid = Number(jobEnv.SELFTEST_PID);
      for (let i = 0; i < 50 && isProcessAlive(emulatorPid); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(isProcessAlive(emulatorPid)).toBe(false);
    });
  }
});
