// Scrubs passwords from text about to leave the process: error messages, hints, stacks, commander's echoes.
import type { Target } from './types.js';

/**
 * Replaces every secret of the target in a text that is about to be printed, and any password that looks
 * like one (`scheme://user:PASSWORD@`, `password=...`) even when it belongs to no resolved target, such as
 * a URL that commander echoes back in "unknown command".
 */
export function redact(text: string, target: Pick<Target, 'secrets'> | undefined): string {
  let out = text;
  for (const secret of target?.secrets ?? []) {
    if (secret) out = out.split(secret).join('***');
  }
  return out
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s'"]*:)[^@\s'"]+@/gi, '$1***@')
    .replace(/(\b(?:ssl)?password=)('[^']*'|[^\s&'"]+)/gi, '$1***');
}
