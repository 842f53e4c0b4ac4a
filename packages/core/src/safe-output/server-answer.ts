import type { HttpResponse } from '../net/http.ts';
import { parseJsonObject } from '../net/http.ts';
import { printableLine } from './printable.ts';
import { redactCredentialShapes } from './redaction.ts';

/**
 * How much of an answer is redacted before an excerpt is cut from it: far more than any excerpt,
 * so a secret that starts inside the excerpt is redacted whole, and a bound on the work.
 */
const REDACTION_WINDOW = 64 * 1024;

/** A short, redacted, single-line excerpt of a server's answer, safe to print. */
export function excerpt(body: string, max = 200): string {
  return printableLine(redactCredentialShapes(body.slice(0, REDACTION_WINDOW)), max) || '(empty)';
}

/** The OAuth `error: error_description` of an answer, redacted, or an excerpt when it has none. */
export function serverSays(response: HttpResponse): string {
  // A sign-in or error page says nothing useful in a log line, and it is the host's text, not an API's.
  if (looksLikeHtml(response)) return 'a web page (not quoted)';
  const body = parseJsonObject(response.body);
  const parts = [body?.error, body?.error_description ?? body?.message]
    .filter((p): p is string => typeof p === 'string' && p.trim() !== '')
    .map((p) => excerpt(p, 300));
  return parts.length > 0 ? parts.join(': ') : excerpt(response.body);
}

/** True when the answer is a web page rather than an API answer. */
export function looksLikeHtml(response: HttpResponse): boolean {
  const type = String(response.headers['content-type'] ?? '');
  return type.includes('text/html') || /^\s*<(!doctype|html)/i.test(response.body);
}

/** How an answer began, for "the answer began: ..." hints: a web page is named, never quoted. */
export function answerBegins(response: HttpResponse): string {
  return looksLikeHtml(response) ? 'a web page (not quoted)' : excerpt(response.body);
}
