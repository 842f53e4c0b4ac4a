// Stand-in for undici in the bundles. @actions/http-client imports undici only for
// getAgentDispatcher() (proxying fetch), which neither we nor @actions/core call; our HTTP
// layer uses its node:http agents. Bundling undici would add 400 KiB to every cold start.
export class ProxyAgent {
  constructor() {
    throw new Error('undici is not bundled: getAgentDispatcher() is unsupported in this build');
  }
}
