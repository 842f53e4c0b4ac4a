// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we look for
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we replace
const CONTROL_RUNS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/** True when text holds a newline or another control character (which could forge log commands). */
export function hasControlCharacters(text: string): boolean {
  return CONTROL_CHARACTERS.test(text);
}

/** One safe log line from foreign text: control characters become spaces, length is capped. */
export function printableLine(text: string, max = 300): string {
  const flat = text.replace(CONTROL_RUNS, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
