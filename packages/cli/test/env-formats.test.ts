import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoginError } from '@databricks-oidc-login/core';
import { afterAll, describe, expect, it } from 'vitest';
import { formatVariables } from '../src/exports.ts';

// Issue 19: each `env` format quotes for its consumer. Hostile values go through every format;
// sh and dotenv are read back by real shells (dash and bash), dotenv also the way
// `docker --env-file` reads it, PowerShell by its grammar (no pwsh here), json by JSON.parse.

/** Each value tries another way out of the quoting; the commands would create files in `work`. */
const HOSTILE: Array<[string, string]> = [
  ['ASCII single quote', "a'b"],
  ['the sh escape itself', "a'\\''b"],
  ['double quote', 'a"b'],
  ['U+2018', 'a\u2018b'],
  ['U+2019 breakout', 'abc\u2019;ni(\u2018pwned-ps\u2019);\u2019'],
  ['U+201A', 'a\u201ab'],
  ['U+201B', 'a\u201bb'],
  ['command substitution', 'x$(touch pwned-subst)y'],
  ['backticks', 'x`touch pwned-tick`y'],
  ['variable', 'x$HOME$\x7bPATH}y'],
  ['backslash', 'a\\b\\'],
  ['newline', 'a\ntouch pwned-newline'],
  ['carriage return', 'a\rb'],
  ['U+2028', 'a\u2028b'],
  ['ESC and C1', 'a\u001b]52;c;eA==\u0007\u009bb'],
  ['space, semicolon and comment', 'a b;touch pwned-semi #c'],
  ['leading tilde', '~root'],
  ['empty', ''],
];
/** What real logins export: always representable in every format. */
const REAL: Array<[string, string]> = [
  ['a JWT access token', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_'],
  ['a PAT', 'dapi0123456789abcdef0123456789abcdef-2'],
  ['an opaque token with ~+/=', 'a~b+c/d=='],
  ['a host with a port', 'https://adb-1.2.azuredatabricks.net:8443'],
  ['an IPv6 loopback host', 'http://[::1]:8080'],
  ['an account ID', '6f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f'],
];

const work = mkdtempSync(join(tmpdir(), 'env-formats-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SHELLS = ['dash', 'bash'];
// CI runs on Ubuntu, where dash is /bin/sh and bash is standard; elsewhere say what is missing.
const MISSING = SHELLS.filter((shell) => spawnSync(shell, ['-c', 'true']).status !== 0);
const withShells = MISSING.length === 0 ? it : it.skip;
const shellsNote = MISSING.length === 0 ? '' : ` (skipped: ${MISSING.join(' and ')} not installed)`;

/** Sources `text` in `shell` (as `. file`, with `set -a` when asked) and returns DATABRICKS_TOKEN. */
function readBackInShell(shell: string, text: string, allExport: boolean): string {
  const file = join(work, 'vars');
  writeFileSync(file, text);
  const script = `${allExport ? 'set -a; ' : ''}. ./vars && printf '%s' "$DATABRICKS_TOKEN"`;
  const run = spawnSync(shell, ['-c', script], {
    cwd: work,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    encoding: 'utf8',
  });
  expect(run.status, `${shell}: ${run.stderr}`).toBe(0);
  return run.stdout;
}

/** What `docker --env-file` takes: the rest of the line after the first `=`, as it is. */
function readBackLikeDocker(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const trimmed = line.replace(/^\s+/, '');
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const at = trimmed.indexOf('=');
    if (trimmed.slice(0, at) === 'DATABRICKS_TOKEN') return trimmed.slice(at + 1);
  }
  return undefined;
}

const SINGLE_QUOTE_CHARACTER = /['\u2018\u2019\u201a\u201b]/;

/**
 * Reads `$env:NAME = '<verbatim-string-literal>'` by the PowerShell grammar: a single-quote-character
 * (any of five) ends the literal unless another one follows, and that pair stands for one
 * character. The whole line must be that one statement, so nothing after the literal could run.
 */
function readBackPowerShell(line: string): { name: string; value: string } {
  const head = /^\$env:([A-Z_]+) = '/.exec(line);
  if (!head) throw new Error(`not an assignment: ${JSON.stringify(line)}`);
  let value = '';
  let i = head[0].length;
  for (;;) {
    const c = line[i];
    if (c === undefined) throw new Error('the literal never ends');
    if (SINGLE_QUOTE_CHARACTER.test(c)) {
      const next = line[i + 1];
      if (next !== undefined && SINGLE_QUOTE_CHARACTER.test(next)) {
        value += next;
        i += 2;
        continue;
      }
      break;
    }
    value += c;
    i++;
  }
  const rest = line.slice(i + 1);
  if (rest !== '') throw new Error(`code after the literal: ${JSON.stringify(rest)}`);
  return { name: head[1] ?? '', value };
}

const vars = (value: string): Array<[string, string]> => [
  ['DATABRICKS_HOST', 'https://adb-1.2.azuredatabricks.net'],
  ['DATABRICKS_TOKEN', value],
];

function expectNothingRan(): void {
  expect(readdirSync(work).filter((f) => f.startsWith('pwned'))).toEqual([]);
}

describe('env --format: every value comes back byte for byte, or is refused', () => {
  describe.each([...HOSTILE, ...REAL])('%s', (_name, value) => {
    withShells(`sh: dash and bash read it back exactly, and run nothing of it${shellsNote}`, () => {
      const text = formatVariables(vars(value), 'sh');
      for (const shell of SHELLS) expect(readBackInShell(shell, text, false)).toBe(value);
      expectNothingRan();
    });

    it('powershell: the grammar reads one literal per line, equal to the value', () => {
      const text = formatVariables(vars(value), 'powershell');
      // Invoke-Expression reads the whole text; a value's line breaks stay inside its literal.
      const statements = text.slice(0, -1).split(/\n(?=\$env:)/);
      expect(statements.map(readBackPowerShell)).toEqual(
        vars(value).map(([name, v]) => ({ name, value: v })),
      );
    });

    withShells(
      `dotenv: docker --env-file and set -a; . file read the same value, or it is refused${shellsNote}`,
      () => {
        let text: string;
        try {
          text = formatVariables(vars(value), 'dotenv');
        } catch (error) {
          expect(error).toBeInstanceOf(LoginError);
          expect((error as LoginError).code).toBe('INPUT_INVALID');
          expect((error as LoginError).message).toContain('the value of DATABRICKS_TOKEN');
          // Only values no shared form exists for are refused: never a real token or host.
          expect(REAL.map(([, v]) => v)).not.toContain(value);
          return;
        }
        expect(readBackLikeDocker(text)).toBe(value);
        for (const shell of SHELLS) expect(readBackInShell(shell, text, true)).toBe(value);
        expectNothingRan();
      },
    );

    it('json: JSON.parse gives the value back', () => {
      const text = formatVariables(vars(value), 'json');
      expect(JSON.parse(text)).toEqual(Object.fromEntries(vars(value)));
    });
  });

  it('NUL: no environment can hold it, so every format refuses it', () => {
    for (const format of ['sh', 'powershell', 'dotenv', 'json'] as const) {
      expect(() => formatVariables(vars('a\u0000b'), format)).toThrow(/holds a NUL character/);
    }
  });

  it('dotenv refuses every hostile value above except the plain ones', () => {
    const accepted = HOSTILE.filter(([, value]) => {
      try {
        formatVariables(vars(value), 'dotenv');
        return true;
      } catch {
        return false;
      }
    }).map(([name]) => name);
    expect(accepted).toEqual(['empty']);
  });
});
