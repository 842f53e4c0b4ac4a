import { describe, expect, it } from 'vitest';
import {
  type CommandHost,
  quoteForCmd,
  resolveWindowsCommand,
  spawnTarget,
  UnsafeCommandLineError,
} from '../src/windows-command.ts';

// No Windows machine runs here, so Windows is injected: the platform, a Windows-style
// environment and a file system of known files. The quoting is checked against the two parsers
// that read the line on Windows, modelled below from their documented rules.

const NODE_DIR = 'C:\\Program Files\\nodejs';
const TOOLS = 'C:\\tools & more';
const FILES = new Set(
  [
    `${NODE_DIR}\\node.exe`,
    `${NODE_DIR}\\npm`, // npm's sh script, which Windows does not run
    `${NODE_DIR}\\npm.cmd`,
    `${NODE_DIR}\\npx.cmd`,
    'C:\\Windows\\System32\\cmd.exe',
    'C:\\hashicorp\\terraform.exe',
    `${TOOLS}\\deploy.bat`,
    'C:\\work\\repo\\scripts\\build.cmd',
    'C:\\work\\repo\\terraform.cmd', // planted in the checkout: never found by bare name
  ].map((f) => f.toLowerCase()),
);

function windows(env: NodeJS.ProcessEnv = {}): CommandHost {
  return {
    platform: 'win32',
    cwd: 'C:\\work\\repo',
    // Windows file names ignore case.
    isFile: (path) => FILES.has(path.toLowerCase()),
    env: {
      Path: `C:\\Windows\\System32;"${NODE_DIR}";C:\\hashicorp;${TOOLS}`,
      PATHEXT: '.COM;.EXE;.BAT;.CMD;.VBS;.JS',
      ComSpec: 'C:\\Windows\\System32\\cmd.exe',
      ...env,
    },
  };
}

/** cmd.exe's first phase on a command line: %NAME% expands, an unknown name stays as typed. */
function expandPercent(line: string, vars: Record<string, string>): string {
  let out = '';
  let i = 0;
  while (i < line.length) {
    const end = line[i] === '%' ? line.indexOf('%', i + 1) : -1;
    if (end < 0) {
      out += line[i];
      i++;
      continue;
    }
    const name = line.slice(i + 1, end);
    const substring = /^(\w+):~(-?\d*),(-?\d*)$/.exec(name);
    const value = substring
      ? (vars[substring[1]?.toUpperCase() ?? ''] ?? '').slice(0, 0)
      : vars[name.toUpperCase()];
    if (value === undefined) {
      out += '%';
      i++; // carries on at the second %
    } else {
      out += value;
      i = end + 1;
    }
  }
  return out;
}

/** The characters cmd.exe would treat as syntax: those outside double quotes. */
function unquotedText(line: string): string {
  let quoted = false;
  let out = '';
  for (const c of line) {
    if (c === '"') quoted = !quoted;
    else if (!quoted) out += c;
  }
  return out;
}

/** The C runtime's argv parser (what node, python and terraform read), including `""` inside quotes. */
function parseArgv(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\') {
      let n = 0;
      while (line[i] === '\\') {
        n++;
        i++;
      }
      if (line[i] === '"') {
        current += '\\'.repeat(Math.floor(n / 2));
        if (n % 2 === 1) current += '"';
        else i--;
      } else {
        current += '\\'.repeat(n);
        i--;
      }
      inWord = true;
    } else if (c === '"') {
      if (quoted && line[i + 1] === '"') {
        current += '"';
        i++;
      } else quoted = !quoted;
      inWord = true;
    } else if ((c === ' ' || c === '\t') && !quoted) {
      if (inWord) args.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (inWord) args.push(current);
  return args;
}

/** What a batch file that passes `%*` to node hands it, for a spawnTarget through cmd.exe. */
function argvThroughCmd(target: ReturnType<typeof spawnTarget>, vars: Record<string, string>) {
  const last = target.args.at(-1) ?? '';
  expect(last.startsWith('"') && last.endsWith('"')).toBe(true);
  const line = expandPercent(last.slice(1, -1), vars); // /s: the outer quotes go
  return { syntax: unquotedText(line), argv: parseArgv(line) };
}

describe('exec on Windows: which file runs', () => {
  it('finds npm as npm.cmd through PATH and PATHEXT, not the sh script beside it', () => {
    expect(resolveWindowsCommand('npm', windows())).toBe(`${NODE_DIR}\\npm.cmd`);
    expect(resolveWindowsCommand('terraform', windows())).toBe('C:\\hashicorp\\terraform.exe');
    expect(resolveWindowsCommand('NPX', windows())).toBe(`${NODE_DIR}\\NPX.cmd`);
  });

  it('takes a name with its extension as it is', () => {
    expect(resolveWindowsCommand('npm.cmd', windows())).toBe(`${NODE_DIR}\\npm.cmd`);
    expect(resolveWindowsCommand('node.exe', windows())).toBe(`${NODE_DIR}\\node.exe`);
  });

  it('resolves a path against the working folder, with PATHEXT; a bare name never looks there', () => {
    expect(resolveWindowsCommand('scripts\\build', windows())).toBe('C:\\work\\repo\\scripts\\build.cmd');
    expect(resolveWindowsCommand('.\\terraform.cmd', windows())).toBe('C:\\work\\repo\\terraform.cmd');
    expect(resolveWindowsCommand('terraform', windows({ Path: 'C:\\Windows\\System32' }))).toBeUndefined();
  });

  it('uses the default PATHEXT when the variable is missing, and knows nothing it cannot find', () => {
    expect(resolveWindowsCommand('npm', windows({ PATHEXT: '' }))).toBe(`${NODE_DIR}\\npm.cmd`);
    expect(resolveWindowsCommand('no-such-tool', windows())).toBeUndefined();
  });
});

describe('exec on Windows: how it is started', () => {
  it('starts an .exe directly, with the arguments as given (libuv quotes them for CreateProcess)', () => {
    expect(spawnTarget(['terraform', 'apply', '-var', 'a=b&c'], windows())).toEqual({
      file: 'C:\\hashicorp\\terraform.exe',
      args: ['apply', '-var', 'a=b&c'],
    });
  });

  it('starts npm through cmd.exe /d /s /c, with a path that has spaces quoted', () => {
    const target = spawnTarget(['npm', 'run', 'deploy'], windows());
    expect(target).toEqual({
      file: 'C:\\Windows\\System32\\cmd.exe',
      args: ['/d', '/e:on', '/v:off', '/s', '/c', `""${NODE_DIR}\\npm.cmd" run deploy"`],
      windowsVerbatimArguments: true,
    });
    expect(argvThroughCmd(target, {}).argv).toEqual([`${NODE_DIR}\\npm.cmd`, 'run', 'deploy']);
    // Naming npm.cmd, which Node refuses to spawn itself (EINVAL), takes the same way.
    expect(spawnTarget(['npm.cmd', 'run', 'deploy'], windows())).toEqual(target);
  });

  it('passes &, ^, %, quotes and backslashes to the batch file intact, and none of them is cmd.exe syntax', () => {
    const hostile = [
      'a&b',
      'x^y',
      '100%',
      '%PATH%',
      '%OS%%CD%',
      'say "hi"',
      '"&calc&"',
      'C:\\dir\\',
      'end\\"quote',
      'a|b>c<d',
      '(x)',
      'wow!',
      'k=v,w;z',
      '',
      'plain-word',
    ];
    const target = spawnTarget(['npm', 'exec', '--', ...hostile], windows());
    const vars = { PATH: 'C:\\Windows', OS: 'Windows_NT', CD: 'C:\\work\\repo' };
    const { syntax, argv } = argvThroughCmd(target, vars);
    expect(argv).toEqual([`${NODE_DIR}\\npm.cmd`, 'exec', '--', ...hostile]);
    // Outside quotes there are only the separating spaces and the safe words: no operator.
    expect(syntax).not.toMatch(/[&|<>^()%!,;=]/);
    // A batch file's `%*` reads the line once more: quote states line up, so still nothing leaks.
    expect(unquotedText(target.args.at(-1)?.slice(1, -1) ?? '')).not.toMatch(/[&|<>^()!,;=]/);
  });

  it('quotes a batch file whose folder holds & and %', () => {
    const target = spawnTarget(['deploy', 'prod'], windows());
    expect(target.args.at(-1)).toBe(`""${TOOLS}\\deploy.bat" prod"`);
    const percent = spawnTarget(['C:\\100%\\x.cmd'], {
      ...windows(),
      isFile: (p) => p === 'C:\\100%\\x.cmd',
    });
    expect(percent.args.at(-1)).toBe('""C:\\100%%cd:~,%\\x.cmd""');
    expect(argvThroughCmd(percent, { PATH: 'X' }).argv).toEqual(['C:\\100%\\x.cmd']);
  });

  it('refuses an argument that cmd.exe cannot carry (a line break), instead of running half of it', () => {
    expect(() => spawnTarget(['npm', 'run', 'a\r\nb'], windows())).toThrow(UnsafeCommandLineError);
    expect(() => quoteForCmd('a\0b')).toThrow(/line break or NUL/);
  });

  it('leaves an unknown command for spawn to report (127), and other systems untouched', () => {
    expect(spawnTarget(['no-such-tool', 'x'], windows())).toEqual({ file: 'no-such-tool', args: ['x'] });
    const linux: CommandHost = { platform: 'linux', cwd: '/', env: { PATH: '/usr/bin' }, isFile: () => true };
    expect(spawnTarget(['npm', 'a&b', '%PATH%'], linux)).toEqual({ file: 'npm', args: ['a&b', '%PATH%'] });
  });
});
