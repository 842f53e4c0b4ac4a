import {
  closeSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createPrivateFile,
  entraTokenEndpoint,
  metadataServiceEnvironment,
  normalizeAuthority,
  takeServiceLog,
} from '../src/index.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'service-files-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the service log file', () => {
  it('is created 0600 and only where nothing exists yet: a planted symlink or file is an error, its target untouched', () => {
    const target = join(dir, 'victim');
    writeFileSync(target, 'keep\n', { mode: 0o644 });
    symlinkSync(target, join(dir, 'link.log'));
    expect(() => createPrivateFile(join(dir, 'link.log'))).toThrow(/EEXIST/);
    expect(() => createPrivateFile(target)).toThrow(/EEXIST/);
    expect(readFileSync(target, 'utf8')).toBe('keep\n');
    expect(statSync(target).mode & 0o777).toBe(0o644);

    const fd = createPrivateFile(join(dir, 'fresh.log'));
    writeSync(fd, 'line\n');
    closeSync(fd);
    expect(statSync(join(dir, 'fresh.log')).mode & 0o777).toBe(0o600);
    expect(takeServiceLog(join(dir, 'fresh.log'))).toBe('line\n');
    expect(existsSync(join(dir, 'fresh.log'))).toBe(false);
  });

  it('is read through no symlink: a link is removed unread, its target kept', () => {
    const target = join(dir, 'secret');
    writeFileSync(target, 'not yours\n');
    symlinkSync(target, join(dir, 'service.log'));
    expect(takeServiceLog(join(dir, 'service.log'))).toBeUndefined();
    expect(existsSync(join(dir, 'service.log'))).toBe(false);
    expect(readFileSync(target, 'utf8')).toBe('not yours\n');
    expect(takeServiceLog(join(dir, 'missing.log'))).toBeUndefined();
  });
});

describe('the service environment', () => {
  it('keeps proxy, CA and platform settings, and drops job tokens and everything else', () => {
    expect(
      metadataServiceEnvironment({
        PATH: '/usr/bin',
        HOME: '/home/runner',
        https_proxy: 'http://proxy:3128',
        NO_PROXY: 'localhost',
        NODE_EXTRA_CA_CERTS: '/etc/ca.pem',
        NODE_USE_SYSTEM_CA: '1',
        NODE_OPTIONS: '--use-system-ca',
        SSL_CERT_FILE: '/etc/ssl.pem',
        RUNNER_TRACKING_ID: 'github_1',
        ACTIONS_RUNTIME_TOKEN: 'x',
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'x',
        ACTIONS_ID_TOKEN_REQUEST_URL: 'x',
        SYSTEM_ACCESSTOKEN: 'x',
        ENDPOINT_AUTH_SYSTEMVSSCONNECTION: 'x',
        GITHUB_TOKEN: 'x',
        DATABRICKS_CLIENT_SECRET: 'x',
        INPUT_PAT: 'x',
      }),
    ).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/runner',
      https_proxy: 'http://proxy:3128',
      NO_PROXY: 'localhost',
      NODE_EXTRA_CA_CERTS: '/etc/ca.pem',
      // A CA only in the system store (TLS inspection on macOS and Windows): refreshes need it too.
      NODE_USE_SYSTEM_CA: '1',
      NODE_OPTIONS: '--use-system-ca',
      SSL_CERT_FILE: '/etc/ssl.pem',
      RUNNER_TRACKING_ID: 'github_1', // the runner's end-of-job cleanup finds the service by it
    });
  });
});

describe('Entra authorities', () => {
  it('keep their path; only trailing slashes, query and fragment go', () => {
    expect(normalizeAuthority('https://login.microsoftonline.com/')).toBe(
      'https://login.microsoftonline.com',
    );
    expect(normalizeAuthority('https://adfs.example.com/adfs/')).toBe('https://adfs.example.com/adfs');
    expect(normalizeAuthority('adfs.example.com/adfs//')).toBe('https://adfs.example.com/adfs');
    expect(normalizeAuthority('https://AzureStack.Example.com:443/a/b/?x=1#y')).toBe(
      'https://azurestack.example.com/a/b',
    );
    expect(() => normalizeAuthority('http://adfs.example.com/adfs')).toThrow(/plain http/);
    expect(entraTokenEndpoint('https://adfs.example.com/adfs/', 'adfs')).toBe(
      'https://adfs.example.com/adfs/adfs/oauth2/v2.0/token',
    );
  });
});
