import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isProcessAlive } from '../src/index.ts';

describe('isProcessAlive', () => {
  it('says a running process is alive and an unused PID is not, on this OS', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => child.once('spawn', resolve));
      expect(isProcessAlive(child.pid ?? 0)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((resolve) => child.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(isProcessAlive(child.pid ?? 0)).toBe(false);
  });

  // A zombie answers kill(0) like a live process; only Linux's /proc tells them apart, and no
  // other OS may read it (on Windows `/proc/...` is a folder of the current drive).
  it.runIf(process.platform === 'linux')('reads /proc for a zombie on Linux only', async () => {
    // `sleep 0` exits at once, and the `sleep 10` that replaced its parent shell never reaps it.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 10'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const zombie = Number(
        await new Promise<string>((resolve) =>
          parent.stdout.once('data', (d: Buffer) => resolve(d.toString())),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(zombie).toBeGreaterThan(0);
      expect(isProcessAlive(zombie, 'linux')).toBe(false);
      expect(isProcessAlive(zombie, 'darwin')).toBe(true);
      expect(isProcessAlive(zombie, 'win32')).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
