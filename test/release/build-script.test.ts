import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, win32 } from 'node:path';
import { build, type OnResolveArgs, type OnResolveResult, type PluginBuild } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { stubUndici } from '../../scripts/esbuild-plugins.mjs';
import { ROOT } from '../e2e/github-runner.ts';

// The Windows legs of self-test.yml build with this plugin before `uses: ./` can run. esbuild
// refuses a plugin's path unless it is absolute for the OS it runs on; on Windows that means a
// drive letter (`/D:/a/...`, a file URL's pathname, is not). No Windows machine runs here, so
// the Windows path is produced with fileURLToPath's own Windows rules and checked for that shape.

type ResolveCallback = (args: OnResolveArgs) => OnResolveResult;

function resolvedStub(plugin: ReturnType<typeof stubUndici>): string | undefined {
  let callback: ResolveCallback | undefined;
  const fake = {
    onResolve: (_options: { filter: RegExp }, cb: ResolveCallback) => {
      callback = cb;
    },
  } as unknown as PluginBuild;
  void plugin.setup(fake);
  return callback?.({ path: 'undici' } as OnResolveArgs).path;
}

const scratch = mkdtempSync(join(tmpdir(), 'build-script-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the build script’s undici stub', () => {
  it('gives esbuild a drive-letter path for a Windows checkout’s file URL', () => {
    const path = resolvedStub(stubUndici(new URL('file:///D:/a/repo/repo/scripts/stubs/undici.mjs'), true));
    expect(path).toBe('D:\\a\\repo\\repo\\scripts\\stubs\\undici.mjs');
    expect(win32.isAbsolute(path ?? '')).toBe(true);
    // What the old `.pathname` gave, and esbuild rejected on Windows: no volume name.
    expect(path).not.toMatch(/^\//);
  });

  it('keeps spaces and non-ASCII letters of the checkout folder', () => {
    const url = new URL('file:///C:/Users/Jos%C3%A9%20M/src/scripts/stubs/undici.mjs');
    expect(resolvedStub(stubUndici(url, true))).toBe('C:\\Users\\José M\\src\\scripts\\stubs\\undici.mjs');
    expect(resolvedStub(stubUndici(url, false))).toBe('/C:/Users/José M/src/scripts/stubs/undici.mjs');
  });

  it('is accepted by esbuild on this machine and replaces undici in a real build', async () => {
    const outfile = join(scratch, 'out.cjs');
    await build({
      stdin: { contents: "import { ProxyAgent } from 'undici'; export { ProxyAgent };", resolveDir: ROOT },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      outfile,
      logLevel: 'silent',
      plugins: [stubUndici()],
    });
    expect(readFileSync(outfile, 'utf8')).toContain('undici is not bundled');
  });
});

describe('the databricks-oidc-token wrappers', () => {
  const wrapper = (name: string) => readFileSync(join(ROOT, 'dist', 'bin', name), 'utf8');

  // No cmd.exe here: the .cmd is checked for the rules cmd.exe reads it by.
  it('.cmd: CRLF lines, and a clear message with exit 127 before node is run, when node is missing', () => {
    const text = wrapper('databricks-oidc-token.cmd');
    expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    const lines = text.split('\r\n');
    const check = lines.indexOf('where node >nul 2>nul');
    const run = lines.findIndex((l) => l.startsWith('node "%~dp0databricks-oidc-token.cjs" %*'));
    expect(check).toBeGreaterThan(0);
    expect(run).toBeGreaterThan(check);
    const block = lines.slice(check + 1, run).filter((l) => !l.startsWith('rem '));
    expect(block[0]).toBe('if errorlevel 1 (');
    expect(block[1]).toMatch(/^ {2}echo databricks-oidc-token: node is not on PATH; .* 1>&2$/);
    // A ) inside the message would close the block early, and & | < > would be commands.
    expect(block[1]?.replace(/ 1>&2$/, '')).not.toMatch(/[()&|<>^%]/);
    expect(block.slice(2)).toEqual(['  exit /b 127', ')']);
  });

  it.runIf(process.platform !== 'win32')(
    'sh: without node on PATH it says so and exits 127, under dash',
    () => {
      const bin = mkdtempSync(join(scratch, 'bin-'));
      symlinkSync(
        execFileSync('sh', ['-c', 'command -v dirname'], { encoding: 'utf8' }).trim(),
        join(bin, 'dirname'),
      );
      // dash where it exists (Debian, Ubuntu), else the system's sh (macOS).
      const dash = execFileSync('sh', ['-c', 'command -v dash || command -v sh'], {
        encoding: 'utf8',
      }).trim();
      const run = spawnSync(dash, [join(ROOT, 'dist', 'bin', 'databricks-oidc-token')], {
        env: { PATH: bin },
        encoding: 'utf8',
      });
      expect(run.status).toBe(127);
      expect(run.stderr).toContain('databricks-oidc-token: node is not on PATH');
    },
  );
});
