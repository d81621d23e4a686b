/**
 * TXT content as Cloudflare stores it vs. what DNS answers. The API stores `content` as sent; the dashboard
 * wraps values in quotes (`"abc"`), API clients usually do not (`abc`). Both answer the same TXT string.
 * Kept separate from the solver's own normalisation on purpose: the emulator must not share the code it checks.
 */

/** `"ab" "cd"` → `abcd`; `"a\"b"` → `a"b`; unquoted content is the string itself. */
export function txtAnswer(content: string): string {
  const trimmed = content.trim();
  if (!trimmed.startsWith('"')) return content;
  const parts: string[] = [];
  let i = 0;
  while (i < trimmed.length) {
    if (trimmed[i] === ' ') {
      i++;
      continue;
    }
    if (trimmed[i] !== '"') return content; // not a list of quoted strings: served verbatim
    let part = '';
    i++;
    while (i < trimmed.length && trimmed[i] !== '"') {
      if (trimmed[i] === '\\' && i + 1 < trimmed.length) i++;
      part += trimmed[i];
      i++;
    }
    if (i >= trimmed.length) return content; // unterminated quote
    i++;
    parts.push(part);
  }
  return parts.join('');
}
