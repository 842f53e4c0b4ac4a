import { describe, expect, it } from 'vitest';
import { commandEnvironment, passEnvWarnings } from '../src/child-environment.ts';

const SERVICE = {
  DATABRICKS_HOST: 'https://h.example',
  DATABRICKS_AUTH_TYPE: 'metadata-service',
  DATABRICKS_METADATA_SERVICE_URL: 'http://127.0.0.1:1/x',
  DATABRICKS_TOKEN: 'fresh',
};

describe("exec's command environment", () => {
  it('on Windows drops credential inputs and old spellings of our variables whatever their case', () => {
    const env = commandEnvironment(
      {
        Path: 'C:\\Windows',
        System_AccessToken: 'job-token',
        databricks_client_secret: 'secret',
        Databricks_Token: 'old-pat',
        databricks_host: 'https://old.example',
      },
      SERVICE,
      { platform: 'win32' },
    );
    expect(env).toEqual({ Path: 'C:\\Windows', ...SERVICE });
  });

  it('elsewhere matches names exactly, as the OS does', () => {
    const env = commandEnvironment(
      { PATH: '/bin', system_accesstoken: 'not ours', SYSTEM_ACCESSTOKEN: 'job-token' },
      SERVICE,
      { platform: 'linux' },
    );
    expect(env).toEqual({ PATH: '/bin', system_accesstoken: 'not ours', ...SERVICE });
  });

  it('keeps what --pass-env names, and says when a name changes nothing', () => {
    const options = {
      platform: 'win32' as const,
      passEnv: ['system_accesstoken', 'Databricks_Token', 'HOME'],
    };
    const env = commandEnvironment(
      { SYSTEM_ACCESSTOKEN: 'job-token', DATABRICKS_TOKEN: 'old' },
      SERVICE,
      options,
    );
    expect(env).toEqual({ SYSTEM_ACCESSTOKEN: 'job-token', ...SERVICE });
    expect(passEnvWarnings(options)).toEqual([
      '--pass-env DATABRICKS_TOKEN: the command always gets the fresh token in DATABRICKS_TOKEN.',
      '--pass-env HOME: exec does not drop HOME, so this changes nothing.',
    ]);
  });
});
