// The `iotctl …` command lines of the README's command sections, as argument lists: from code blocks
// (one a line, `\` continuations joined, pipes and comments cut off) and from inline code in the prose.
import fs from 'node:fs';
import path from 'node:path';

export const README = path.resolve(import.meta.dirname, '../../README.md');

export interface ReadmeCommand {
  /** As written (continuations joined, comment cut). */
  text: string;
  /** The words after `iotctl`, as a shell would split them. */
  args: string[];
  /** README line number where it starts. */
  line: number;
  /** `block`: a line of a code block, a full command; `inline`: code in a sentence, maybe only a name. */
  kind: 'block' | 'inline';
}

/** The README text from `## Commands` up to the next top-level section after it (`## Development`). */
function commandSections(text: string): { body: string; firstLine: number } {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l === '## Commands');
  const end = lines.findIndex((l, i) => i > start && /^## (?!#)/.test(l));
  if (start < 0 || end < 0) throw new Error('README: no `## Commands` section followed by another');
  return { body: lines.slice(start, end).join('\n'), firstLine: start + 1 };
}

/**
 * Splits shell words: single and double quotes, backslash escapes; stops at an unquoted `#` that starts a
 * word, or at `|`, `;`, `&`, `>`, `<` (what follows is another command or a redirection).
 */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unclosed quote in: ${text}`);
      word = (word ?? '') + text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      let out = '';
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\' && j + 1 < text.length) j++;
        out += text[j];
      }
      if (j >= text.length) throw new Error(`unclosed quote in: ${text}`);
      word = (word ?? '') + out;
      i = j;
    } else if (c === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[++i];
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else if ('|;&><'.includes(c) || (c === '#' && word === null)) {
      break;
    } else word = (word ?? '') + c;
  }
  if (word !== null) words.push(word);
  return words;
}

/** Every `iotctl …` of the command sections, in README order. */
export function readmeCommands(text = fs.readFileSync(README, 'utf8')): ReadmeCommand[] {
  const { body, firstLine } = commandSections(text);
  const lines = body.split('\n');
  const out: ReadmeCommand[] = [];
  let fence = false;
  const prose: Array<{ text: string; line: number }> = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string;
    if (l.startsWith('```')) {
      fence = !fence;
      continue;
    }
    if (!fence) {
      prose.push({ text: l, line: firstLine + i });
      continue;
    }
    let joined = l;
    const start = i;
    while (joined.endsWith('\\') && i + 1 < lines.length) joined = joined.slice(0, -1) + ' ' + lines[++i];
    // Anywhere on the line (after a pipe, after a cron schedule), as a word of its own.
    const at = joined.search(/(^|[\s|;&])iotctl\s/);
    if (at < 0) continue;
    const from = joined.indexOf('iotctl', at);
    const words = shellWords(joined.slice(from));
    out.push({
      text: joined
        .slice(from)
        .replace(/\s+#.*$/, '')
        .trim(),
      args: words.slice(1),
      line: firstLine + start,
      kind: 'block',
    });
  }
  // Inline code may wrap onto the next line of its paragraph.
  const flat = prose.map((p) => p.text).join('\n');
  for (const m of flat.matchAll(/`(iotctl [^`]+)`/g)) {
    const text = (m[1] as string).replace(/\s*\n\s*/g, ' ');
    const line = prose[flat.slice(0, m.index).split('\n').length - 1]?.line ?? firstLine;
    out.push({ text, args: shellWords(text).slice(1), line, kind: 'inline' });
  }
  return out.sort((a, b) => a.line - b.line);
}
