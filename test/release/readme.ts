import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../e2e/github-runner.ts';

/** The README as a reader sees it: sections, tables and code blocks found by their headings. */
export const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The guides the README links to, by path (`docs/setup-walkthrough.md`): docs/*.md. */
export const GUIDES: Record<string, string> = Object.fromEntries(
  readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => [`docs/${f}`, readFileSync(join(ROOT, 'docs', f), 'utf8')]),
);

/** One guide's text, by its file name without `.md`, e.g. `guide('setup-walkthrough')`. */
export function guide(name: string): string {
  const text = GUIDES[`docs/${name}.md`];
  if (text === undefined) throw new Error(`docs/${name}.md does not exist`);
  return text;
}

/** The README and every guide: what a user reads, for checks that hold across all of it. */
export const USER_DOCS: string = [README, ...Object.values(GUIDES)].join('\n');

/** The headings of a Markdown text, outside code blocks. */
export function headings(text: string): string[] {
  const found: string[] = [];
  let inFence = false;
  for (const line of text.split('\n')) {
    if (line.trimStart().startsWith('```')) inFence = !inFence;
    const m = /^#+ (.+)$/.exec(line);
    if (!inFence && m) found.push(m[1] ?? '');
  }
  return found;
}

/** The anchors GitHub gives a text's headings (a repeated heading gets `-1`, `-2`, ...). */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  for (const heading of headings(text)) {
    const slug = heading
      .toLowerCase()
      .replace(/[^\w\- ]/g, '')
      .replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    found.add(n ? `${slug}-${n}` : slug);
  }
  return found;
}

/** The text under a heading (`## Title` or `### Title`), up to the next heading of the same or a higher level. */
export function section(heading: string, text: string = README): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  if (start < 0) throw new Error(`no heading "${heading}" in the text searched`);
  const level = heading.indexOf(' ');
  let end = start + 1;
  let inFence = false;
  for (; end < lines.length; end++) {
    const line = lines[end] ?? '';
    if (line.startsWith('```')) inFence = !inFence;
    const m = /^(#+) /.exec(line);
    if (!inFence && m && (m[1]?.length ?? 0) <= level) break;
  }
  return lines.slice(start + 1, end).join('\n');
}

/** One row of a Markdown table: its cells, trimmed, and the line it came from (for messages). */
export interface TableRow {
  cells: string[];
  line: string;
}

/** The first table under a heading, without its header and separator rows. */
export function tableUnder(heading: string, text: string = README): TableRow[] {
  const lines = section(heading, text).split('\n');
  const first = lines.findIndex((l) => l.trim().startsWith('|'));
  if (first < 0) throw new Error(`no table under "${heading}" in the text searched`);
  const rows: TableRow[] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.trim().startsWith('|')) break;
    const cells = line
      .trim()
      .slice(1, -1)
      .split('|')
      .map((c) => c.trim());
    rows.push({ cells, line: line.trim() });
  }
  return rows;
}

/** The code spans of a table cell, e.g. ["azureSubscription", "azureServiceConnection"]. */
export function codeSpans(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
}

/** The fenced code blocks of a text, with their language. */
export function codeBlocks(text: string, language?: string): string[] {
  const blocks: string[] = [];
  for (const m of text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)) {
    if (language === undefined || m[1] === language) blocks.push(m[2] ?? '');
  }
  return blocks;
}

/** The federation policies the docs tell readers to create, from their `--json '...'` commands. */
export function federationPolicies(text: string = USER_DOCS): Array<{
  servicePrincipalId: string;
  policy: { issuer: string; audiences?: string[]; subject?: string };
}> {
  const found = [];
  for (const block of codeBlocks(text, 'sh')) {
    for (const m of block.matchAll(
      /service-principal-federation-policy create (\S+)\s*\\?\s*--json '([\s\S]*?)'/g,
    )) {
      const parsed = JSON.parse(m[2] ?? '') as {
        oidc_policy: { issuer: string; audiences?: string[]; subject?: string };
      };
      found.push({ servicePrincipalId: m[1] ?? '', policy: parsed.oidc_policy });
    }
  }
  return found;
}

/** The example values the README uses, which a reader replaces with their own. */
export const README_EXAMPLES = {
  host: 'https://adb-1234567890123456.7.azuredatabricks.net',
  applicationId: '6f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f',
  servicePrincipalId: '1234567890123456',
  repository: 'my-org/my-repo',
  tenantId: '0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9',
};

/** The Entra federated credentials the docs tell readers to add, from their `az ad app` commands. */
export function entraFederatedCredentials(text: string = USER_DOCS): Array<{
  appId: string;
  credential: { name: string; issuer: string; subject: string; audiences: string[] };
}> {
  const found = [];
  for (const block of codeBlocks(text, 'sh')) {
    for (const m of block.matchAll(
      /az ad app federated-credential create --id (\S+) --parameters '([\s\S]*?)'/g,
    )) {
      found.push({ appId: m[1] ?? '', credential: JSON.parse(m[2] ?? '') });
    }
  }
  return found;
}
