/**
 * Reads a step's output the way the runners do, to prove that no server or input text became a
 * command. GitHub: a line is a command when, after leading white space (.NET rules), it starts
 * with `::name props::data`, or when it holds `##[name props]data` anywhere (the older syntax);
 * `::stop-commands::T` turns processing off until `::T::`. Azure DevOps: `##vso[` anywhere in a
 * line. Tests put a unique marker in every hostile value: a command whose name, properties or data
 * start with the marker was forged.
 */

/** GitHub commands our step writes itself. */
const GITHUB_COMMANDS = new Set(['add-mask', 'debug', 'warning', 'error', 'group', 'endgroup']);
/** Azure DevOps commands our task writes itself (through azure-pipelines-task-lib). */
const VSO_COMMANDS = new Set([
  'task.setsecret',
  'task.setvariable',
  'task.settaskvariable',
  'task.debug',
  'task.logissue',
  'task.issue',
  'task.complete',
  'task.prependpath',
]);

// .NET String.TrimStart white space, wider than JavaScript's \s.
// biome-ignore lint/suspicious/noControlCharactersInRegex: .NET counts these as white space
const LEADING_SPACE = /^[\s\u0085\u180e\u001c-\u001f]*/;

/** Hostile text for one test: each line tries another way to forge a command. */
export function hostilePayload(marker: string): string {
  return [
    `x ${marker}`,
    `::stop-commands::${marker}`,
    `::add-mask::${marker}`,
    `  ::warning::${marker} indented`,
    `\u2028::error::${marker} after a Unicode line separator`,
    `\r::notice::${marker} after a carriage return`,
    `##[set-output name=${marker}]v1 syntax`,
    `text ##vso[task.setvariable variable=${marker}]x`,
    `##vso[task.complete result=Succeeded;]${marker}`,
  ].join('\n');
}

/**
 * Everything wrong with a GitHub step's output: forged or unknown commands, a stop-commands, an
 * add-mask of something that is not one of `secrets` (unless `strictMasks` is false, for runs
 * whose secrets the test cannot list), and any secret outside an add-mask line.
 */
export function githubOutputProblems(
  output: string,
  marker: string,
  secrets: string[],
  { strictMasks = true } = {},
): string[] {
  const problems: string[] = [];
  let stopToken: string | undefined;
  output.split(/\r\n|\r|\n/).forEach((line, n) => {
    const at = `line ${n + 1} ${JSON.stringify(line.slice(0, 120))}`;
    if (line.includes('##[')) problems.push(`a ##[ command: ${at}`);
    if (/##vso\[/i.test(line)) problems.push(`a ##vso[ command: ${at}`);
    const trimmed = line.replace(LEADING_SPACE, '');
    const command = /^::([^\s:]+)(?: ([^:]*))?::(.*)$/s.exec(trimmed);
    if (stopToken !== undefined) {
      if (trimmed === `::${stopToken}::`) stopToken = undefined;
    } else if (command) {
      const [, name = '', props = '', data = ''] = command;
      if (name === 'stop-commands') {
        problems.push(`stop-commands: ${at}`);
        stopToken = data;
      } else if (!GITHUB_COMMANDS.has(name)) problems.push(`unknown command ${name}: ${at}`);
      if (name.includes(marker) || props.includes(marker) || data.startsWith(marker))
        problems.push(`forged ${name}: ${at}`);
      if (name === 'add-mask' && strictMasks && !secrets.includes(unescapeData(data)))
        problems.push(`an add-mask we did not mean: ${at}`);
      if (name === 'add-mask') return;
    }
    for (const secret of secrets) if (line.includes(secret)) problems.push(`a secret in clear: ${at}`);
  });
  return problems;
}

/**
 * Everything wrong with an Azure DevOps task's output: a `##vso[` that is not at the start of its
 * line or not alone in it, an unknown or forged command, and a secret outside the commands that
 * carry it to the agent (setsecret, secret setvariable).
 */
export function azureDevOpsOutputProblems(output: string, marker: string, secrets: string[]): string[] {
  const problems: string[] = [];
  output.split(/\r\n|\r|\n/).forEach((line, n) => {
    const at = `line ${n + 1} ${JSON.stringify(line.slice(0, 120))}`;
    const found = [...line.matchAll(/##vso\[/gi)].map((m) => m.index);
    if (found.length === 0) {
      for (const secret of secrets) if (line.includes(secret)) problems.push(`a secret in clear: ${at}`);
      return;
    }
    if (found.length > 1 || found[0] !== 0) problems.push(`a ##vso[ inside a line: ${at}`);
    const command = /^##vso\[([\w.]+)([^\]]*)\](.*)$/.exec(line);
    const [, name = '', props = '', data = ''] = command ?? [];
    if (!VSO_COMMANDS.has(name)) problems.push(`unknown command ${name}: ${at}`);
    if (props.includes(marker) || data.startsWith(marker)) problems.push(`forged ${name}: ${at}`);
    const carriesSecret =
      name === 'task.setsecret' || (name === 'task.setvariable' && /issecret=true/i.test(props));
    if (!carriesSecret)
      for (const secret of secrets) if (line.includes(secret)) problems.push(`a secret in clear: ${at}`);
  });
  return problems;
}

function unescapeData(text: string): string {
  return text.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}
