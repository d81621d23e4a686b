/**
 * Finds secret values in captured output (log lines, HTTP bodies, stderr) for tests. Written independently
 * of the redaction code on purpose, so a test cannot pass because both share a blind spot: it looks for
 * each secret raw, trimmed and line by line, both as plain text and as it appears inside JSON (escaped),
 * and inside every string of output that parses as JSON.
 */

/** Lines shorter than this are too common to search for on their own (they would "match" ordinary words). */
const MIN_SEARCHED_FRAGMENT = 6;

function needles(secret: string): string[] {
  const out = new Set<string>([secret, secret.trim()]);
  const lines = secret.split(/\r\n|\r|\n/);
  if (lines.length > 1) for (const line of lines) for (const l of [line, line.trim()]) if (l.length >= MIN_SEARCHED_FRAGMENT) out.add(l);
  out.delete('');
  return [...out];
}

function jsonStrings(value: unknown, into: string[]): void {
  if (typeof value === 'string') into.push(value);
  else if (Array.isArray(value)) for (const v of value) jsonStrings(v, into);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      into.push(k);
      jsonStrings(v, into);
    }
  }
}

/** Every place a secret shows up, as `"<what>" in output #<i>`; empty when nothing leaked. */
export function secretLeaks(outputs: string[], secrets: string[]): string[] {
  const haystacks: Array<{ i: number; text: string }> = [];
  outputs.forEach((text, i) => {
    haystacks.push({ i, text });
    for (const line of text.split('\n')) {
      try {
        const strings: string[] = [];
        jsonStrings(JSON.parse(line), strings);
        for (const s of strings) haystacks.push({ i, text: s });
      } catch {
        // not JSON: searched as text only
      }
    }
  });
  const found: string[] = [];
  for (const secret of secrets) {
    for (const needle of needles(secret)) {
      const escaped = JSON.stringify(needle).slice(1, -1);
      for (const { i, text } of haystacks) {
        if (text.includes(needle) || text.includes(escaped)) {
          found.push(`${JSON.stringify(needle)} in output #${i}: ${text.slice(0, 300)}`);
          break;
        }
      }
    }
  }
  return found;
}
