/**
 * Secret redaction for one challenge. Every value the core hands a solver (Secret values read through
 * `ctx.secrets`, ServiceAccount tokens, material the solver registers with `ctx.treatAsSecret`) goes into
 * the challenge's SecretRegistry; the challenge's logger and every message that leaves the process are
 * passed through it. So redaction does not depend on a call site remembering to do it.
 *
 * What is registered for a value (its "forms"):
 *  - the raw value and the trimmed value (Secrets often end in a newline, solvers use the trimmed one);
 *  - for a multi-line value, each line, raw and trimmed (an HTTP client or a provider may quote one line);
 *  - each of those as it appears inside JSON (`\n` → `\\n`, quotes escaped) and URL-encoded.
 * Short forms are not registered: a whole value under MIN_SECRET_LENGTH characters, a line under
 * MIN_FRAGMENT_LENGTH. Below that a match is far more likely an ordinary word ("zone", "TXT", a record id)
 * than the secret, and scrubbing it would garble every message while protecting nothing (no provider
 * credential is that short: DNSPod ids/keys are 32–36 characters, AWS 20/40, Cloudflare tokens 40).
 */

export const REDACTED = '[redacted]';
/** A whole value (raw or trimmed) shorter than this is not scrubbed. */
export const MIN_SECRET_LENGTH = 4;
/** One line of a multi-line value shorter than this is not scrubbed on its own. */
export const MIN_FRAGMENT_LENGTH = 6;

/** Every string the registry scrubs for `value`, longest first. */
export function secretForms(value: string): string[] {
  const bases = new Set<string>();
  for (const whole of [value, value.trim()]) if (whole.length >= MIN_SECRET_LENGTH) bases.add(whole);
  const lines = value.split(/\r\n|\r|\n/);
  if (lines.length > 1) {
    for (const line of lines) for (const part of [line, line.trim()]) if (part.length >= MIN_FRAGMENT_LENGTH) bases.add(part);
  }
  const forms = new Set(bases);
  for (const base of bases) {
    forms.add(JSON.stringify(base).slice(1, -1));
    forms.add(encodeURIComponent(base));
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

/** Keys whose string values are credentials whatever they hold (defence in depth for SDK error objects). */
const SENSITIVE_KEY =
  /^(authorization|proxy-authorization|cookie|set-cookie|x-auth-key|x-auth-user-service-key|password|passwd|secret|secret[-_]?key|secret[-_]?access[-_]?key|session[-_]?token|api[-_]?key|api[-_]?token|access[-_]?token|client[-_]?secret|private[-_]?key|token|web[-_]?identity[-_]?token)$/i;

const MAX_DEPTH = 8;
const MAX_ENTRIES = 100;

export interface LoggableOptions {
  /** Include `stack` for Error objects (debug and error lines). */
  stacks?: boolean;
}

export class SecretRegistry {
  readonly #forms = new Set<string>();
  #pattern: RegExp | null = null;

  /** Registers `value` (and its forms, see above) for scrubbing. Non-strings and short values are ignored. */
  register(value: unknown): void {
    if (typeof value !== 'string') return;
    for (const form of secretForms(value)) {
      if (this.#forms.has(form)) continue;
      this.#forms.add(form);
      this.#pattern = null;
    }
  }

  get size(): number {
    return this.#forms.size;
  }

  /** `text` with every registered form replaced by `[redacted]`. */
  scrub(text: string): string {
    if (this.#forms.size === 0 || text.length === 0) return text;
    this.#pattern ??= new RegExp(
      // Longest first, so a value's raw form wins over its trimmed form and its lines.
      [...this.#forms].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'),
      'g',
    );
    return text.replace(this.#pattern, REDACTED);
  }

  /**
   * A plain, JSON-safe copy of `value` with every string scrubbed: Error objects become
   * `{type, message, code, ..., cause}` (the whole `cause` chain and AggregateError `errors`), credentials
   * under well-known keys (authorization, token, ...) are censored, cycles and depth are bounded.
   */
  loggable(value: unknown, options: LoggableOptions = {}): unknown {
    return this.#copy(value, 0, new WeakSet(), options, undefined);
  }

  #copy(value: unknown, depth: number, seen: WeakSet<object>, options: LoggableOptions, key: string | undefined): unknown {
    switch (typeof value) {
      case 'string':
        return key !== undefined && SENSITIVE_KEY.test(key) ? REDACTED : this.scrub(value);
      case 'number':
      case 'boolean':
      case 'undefined':
        return value;
      case 'bigint':
        return value.toString();
      case 'symbol':
      case 'function':
        return undefined;
    }
    if (value === null) return null;
    const obj = value as object;
    if (seen.has(obj)) return '[circular]';
    if (depth >= MAX_DEPTH) return '[too deep]';
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
    if (value instanceof URL) return this.scrub(value.href);
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[${value.byteLength} bytes]`;
    seen.add(obj);
    try {
      const next = (v: unknown, k?: string) => this.#copy(v, depth + 1, seen, options, k);
      if (Array.isArray(value)) return value.slice(0, MAX_ENTRIES).map((v) => next(v));
      if (value instanceof Set) return [...value].slice(0, MAX_ENTRIES).map((v) => next(v));
      if (value instanceof Map) {
        const out: Record<string, unknown> = {};
        for (const [k, v] of [...value].slice(0, MAX_ENTRIES)) out[this.scrub(String(k))] = next(v, String(k));
        return out;
      }
      const out: Record<string, unknown> = {};
      if (value instanceof Error) {
        out.type = value.name || value.constructor?.name || 'Error';
        out.message = this.scrub(String(value.message));
        if (options.stacks && typeof value.stack === 'string') out.stack = this.scrub(value.stack);
      }
      for (const k of Object.keys(obj).slice(0, MAX_ENTRIES)) {
        if (value instanceof Error && (k === 'message' || k === 'stack')) continue;
        const v = next((obj as Record<string, unknown>)[k], k);
        if (v !== undefined) out[this.scrub(k)] = v;
      }
      if (value instanceof Error) {
        // `cause` and AggregateError's `errors` are own but non-enumerable: walk them explicitly.
        if ('cause' in value && value.cause !== undefined) out.cause = next(value.cause);
        if (value instanceof AggregateError) out.errors = next(value.errors);
      }
      return out;
    } finally {
      seen.delete(obj);
    }
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
