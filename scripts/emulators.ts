// `npm run emulators`: the loopback emulators in the foreground, for trying the command-line tool
// by hand (README "The command-line tool, by hand"). It prints, on stdout, the variables of a
// GitLab-like job to paste into another shell, and runs until Ctrl-C or SIGTERM.
import { CiIssuer } from '../test/emulators/ci-issuers.ts';
import { startEmulators } from '../test/emulators/index.ts';

/** GitLab's longest ID token; the emulated job's token lives that long. */
const ID_TOKEN_LIFETIME_SECONDS = 3600;
const AUDIENCE = 'https://databricks.example/gitlab';

const emu = await startEmulators();
const gitlab = await CiIssuer.create('gitlab');
emu.databricks.trust(gitlab.jwt);
emu.servicePrincipal.policies.push({
  issuer: gitlab.jwt.issuer,
  audiences: [AUDIENCE],
  subject: String(gitlab.claims.sub),
});

const stopped = new Promise<void>((resolve) => {
  process.once('SIGINT', resolve);
  process.once('SIGTERM', resolve);
});

// Single quotes: a JWT and these URLs hold no quote, and the shell then takes them literally.
const job = {
  GITLAB_CI: 'true',
  DATABRICKS_OIDC_TOKEN: await gitlab.mint(AUDIENCE, ID_TOKEN_LIFETIME_SECONDS),
  DATABRICKS_HOST: emu.databricks.url,
  DATABRICKS_CLIENT_ID: emu.servicePrincipal.applicationId,
};
const lines = [
  `# Emulated Databricks workspace ${emu.databricks.url}, service principal ${emu.servicePrincipal.applicationId},`,
  `# trusting GitLab tokens (issuer ${gitlab.jwt.issuer}, aud ${AUDIENCE}, sub ${String(gitlab.claims.sub)}).`,
  `# Paste these into another shell (the ID token is valid for ${ID_TOKEN_LIFETIME_SECONDS / 60} minutes):`,
  ...Object.entries(job).map(([name, value]) => `export ${name}='${value}'`),
  '# Ctrl-C here stops the emulators.',
];
process.stdout.write(`${lines.join('\n')}\n`);

await stopped;
await emu.stop();
process.exit(0);
