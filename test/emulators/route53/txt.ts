/**
 * Route 53's TXT value syntax: one or more double-quoted character-strings separated by spaces
 * (`"abc" "def"`), `\"` and `\\` escapes and `\ddd` octal inside quotes, each string at most 255 characters.
 * Route 53 rejects a value that is not quoted; the emulator must too.
 */

export type TxtParse = { ok: true; strings: string[] } | { ok: false; problem: 'InvalidCharacterString' | 'CharacterStringTooLong' };

export function parseTxtValue(value: string): TxtParse {
  const strings: string[] = [];
  let i = 0;
  const n = value.length;
  while (i < n) {
    while (i < n && value[i] === ' ') i++;
    if (i >= n) break;
    if (value[i] !== '"') return { ok: false, problem: 'InvalidCharacterString' };
    i++;
    let s = '';
    let closed = false;
    while (i < n) {
      const c = value[i]!;
      if (c === '\\') {
        const digits = value.slice(i + 1, i + 4);
        if (/^[0-7]{3}$/.test(digits)) {
          s += String.fromCharCode(parseInt(digits, 8));
          i += 4;
        } else if (i + 1 < n) {
          s += value[i + 1];
          i += 2;
        } else return { ok: false, problem: 'InvalidCharacterString' };
      } else if (c === '"') {
        closed = true;
        i++;
        break;
      } else {
        s += c;
        i++;
      }
    }
    if (!closed) return { ok: false, problem: 'InvalidCharacterString' };
    // Strings must be separated by whitespace: `"a""b"` is not valid zone-file syntax.
    if (i < n && value[i] !== ' ') return { ok: false, problem: 'InvalidCharacterString' };
    if (Buffer.byteLength(s, 'latin1') > 255) return { ok: false, problem: 'CharacterStringTooLong' };
    strings.push(s);
  }
  if (strings.length === 0) return { ok: false, problem: 'InvalidCharacterString' };
  return { ok: true, strings };
}

/** The message Route 53 puts in InvalidChangeBatch for a bad TXT value. */
export function txtProblemMessage(problem: 'InvalidCharacterString' | 'CharacterStringTooLong', value: string): string {
  const why = problem === 'InvalidCharacterString' ? 'Value should be enclosed in quotation marks' : 'Value is too long';
  return `Invalid Resource Record: FATAL problem: ${problem} (${why}) encountered with '${value}'`;
}
