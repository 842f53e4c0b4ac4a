// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we look for
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we replace
const CONTROL_RUNS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;
/**
 * What a runner reads as a command: a line that starts, after any leading white space, with
 * `::` (GitHub), and `##[` (GitHub's older syntax) or `##vso[` (Azure DevOps) anywhere in a line.
 * The white-space class is wider than JavaScript's `\s` because the runners trim with .NET rules.
 */
// Breaks as the runners' readers see them (.NET ReadLine: CR, LF, CRLF); white space as .NET trims
// it, which is wider than JavaScript's `\s`. The break is part of the match, so each position is
// tried once and the scan stays linear (a multiline `^` would be quadratic on runs of breaks).
const LINE_START_COMMAND =
  /(^|\r\n?|\n)([\t\v\f \u0085\u00a0\u1680\u180e\u2000-\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff]*):(?=:)/g;
const ANYWHERE_COMMAND = /#(?=#(?:vso)?\[)/gi;
/** Control characters other than tab and line breaks: they could hide or rewrite what a log shows. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we replace
const HIDING_CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;

/** True when text holds a newline or another control character (which could forge log commands). */
export function hasControlCharacters(text: string): boolean {
  return CONTROL_CHARACTERS.test(text);
}

/** One safe log line from foreign text: control characters become spaces, length is capped. */
export function printableLine(text: string, max = 300): string {
  const flat = text.replace(CONTROL_RUNS, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/**
 * Makes any text safe for a CI runner's stdout, line breaks included: no line of it can start a
 * GitHub workflow command (`::add-mask::`, `::stop-commands::`, ...) and no `##[` or `##vso[`
 * remains anywhere, so a server or an input can never forge one. A zero-width space breaks each
 * marker, which keeps the text readable. Everything the adapters print goes through this.
 */
export function neutraliseRunnerCommands(text: string): string {
  return text
    .replace(HIDING_CONTROLS, '?')
    .replace(LINE_START_COMMAND, '$1$2:\u200b')
    .replace(ANYWHERE_COMMAND, '#\u200b');
}

/**
 * A short quoted excerpt of an input for an error message: inputs can be any size, and the
 * message must stay short and printable.
 */
export function quoteInput(value: string, max = 60): string {
  return `"${printableLine(value, max)}"`;
}
