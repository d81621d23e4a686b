/**
 * TXT content as Cloudflare returns it → the string DNS serves. The API stores content as sent: the
 * dashboard wraps values in quotes (`"abc"`), API clients usually do not (`abc`), and a long value may be
 * several quoted strings (`"ab" "cd"`). Comparing raw content with `key` would miss a dashboard-made record.
 */
export function txtValue(content: string): string {
  const s = content.trim();
  if (!s.startsWith('"')) return content;
  const strings: string[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === ' ' || s[i] === '\t') {
      i++;
      continue;
    }
    if (s[i] !== '"') return content; // not a list of quoted strings: the content is the value
    let current = '';
    for (i++; i < s.length && s[i] !== '"'; i++) {
      if (s[i] === '\\' && i + 1 < s.length) i++;
      current += s[i];
    }
    if (i >= s.length) return content; // unterminated quote
    i++;
    strings.push(current);
  }
  return strings.join('');
}
