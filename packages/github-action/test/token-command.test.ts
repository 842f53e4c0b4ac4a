import { describe, expect, it } from 'vitest';
import { tokenCommandPath } from '../src/token-command.ts';

describe('the databricks-oidc-token path in the export-env false hint', () => {
  it('names the .cmd on Windows, which PowerShell and cmd.exe both run', () => {
    expect(tokenCommandPath('D:\\a\\_actions\\o\\r\\v1\\dist\\bin', 'win32')).toBe(
      'D:\\a\\_actions\\o\\r\\v1\\dist\\bin\\databricks-oidc-token.cmd',
    );
  });

  it('names the sh script elsewhere', () => {
    expect(tokenCommandPath('/home/runner/work/_actions/o/r/v1/dist/bin', 'darwin')).toBe(
      '/home/runner/work/_actions/o/r/v1/dist/bin/databricks-oidc-token',
    );
  });
});
