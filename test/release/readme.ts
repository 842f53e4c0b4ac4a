import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../e2e/github-runner.ts';

/** The README as a reader sees it: sections, tables and code blocks found by their headings. */
export const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The text under a heading (`## Title` or `### Title`), up to the next heading of the same or a higher level. */
export function section(heading: string, text: string = README): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  if (start < 0) throw new Error(`README.md has no heading "${heading}"`);
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
  if (first < 0) throw new Error(`README.md has no table under "${heading}"`);
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

/** The federation policies the README tells readers to create, from its `--json '...'` commands. */
export function federationPolicies(text: string = README): Array<{
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

/** The Entra federated credentials the README tells readers to add, from its `az ad app` commands. */
export function entraFederatedCredentials(text: string = README): Array<{
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
