/**
 * Breaker on rejected credentials. When the provider rejects a credential (unknown key, bad signature,
 * permission denied), every further challenge with it would be rejected too — and cert-manager keeps
 * retrying each of them. So the first rejection opens a breaker for that credential (keyed by its hash):
 * challenges fail at once, without a provider call, until a cool-down passes (30 s, doubling up to 10 min);
 * then one challenge makes one real try (the others keep failing fast), and its answer closes the breaker
 * or opens it again for twice as long. A changed Secret is a different credential hash, so it is tried at once.
 *
 * A credential never seen answered is tried by one call first; other challenges wait for that answer
 * rather than all hitting the provider with a key that may be revoked (50 challenges → 1 call, not 50).
 *
 * The message says that the provider rejected the credential, why, and what the webhook does about it. It is
 * byte-identical for every retry of that failure: for the challenge whose call opened the breaker, for those
 * failed fast, and after each later real try rejected with the same code, whichever challenge made it —
 * because every change of a Challenge's reason makes cert-manager re-queue it at once. So it holds no time and
 * no cool-down length: when the breaker opened and when it lets the next try through go to the log line (the
 * error's details).
 */
import { SolverError, isCredentialRejection } from '../solver/errors.js';

export interface BreakerOptions {
  /** First cool-down in ms (default 30 s). */
  initialMs?: number;
  /** Longest cool-down in ms (default 10 min). */
  maxMs?: number;
  now?: () => number;
}

export class CredentialsRejectedError extends SolverError {
  constructor(message: string, code: string | undefined, details?: Record<string, unknown>) {
    super(message, { code: code ?? 'CredentialsRejected', retryable: false, ...(details ? { details } : {}) });
    this.name = 'CredentialsRejectedError';
  }
}

type State =
  | { kind: 'unknown'; probe?: Promise<void> }
  | { kind: 'trusted' }
  | { kind: 'open'; failures: number; openedAt: number; until: number; message: string; code: string | undefined; probing: boolean };

export interface BreakerTicket {
  /** Report the call's outcome: `err` undefined = success. Returns the error to throw instead (breaker message), if any. */
  settle(err: unknown): unknown;
  /** No call was made after all (e.g. no rate-limit slot): hand the try to someone else. */
  cancel(): void;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const seconds = (ms: number) => (ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`);

type Open = Extract<State, { kind: 'open' }>;

/** The same message for every challenge while the breaker is open; the times go to the log only. */
function rejectedError(s: Open): CredentialsRejectedError {
  return new CredentialsRejectedError(s.message, s.code, { breakerOpenedAt: iso(s.openedAt), nextTryAt: iso(s.until), cooldownSeconds: (s.until - s.openedAt) / 1000 });
}

export class CredentialBreaker {
  #state: State = { kind: 'unknown' };
  readonly #initial: number;
  readonly #max: number;
  readonly #now: () => number;
  #resolveProbe: (() => void) | undefined;

  constructor(options: BreakerOptions = {}) {
    this.#initial = options.initialMs ?? 30_000;
    this.#max = options.maxMs ?? 600_000;
    this.#now = options.now ?? Date.now;
  }

  get isOpen(): boolean {
    return this.#state.kind === 'open';
  }

  /** When the breaker would let a real try through (open breakers only). */
  get nextTryAt(): number | undefined {
    return this.#state.kind === 'open' ? this.#state.until : undefined;
  }

  /** Throws the breaker's error while it is open and not yet due for a real try. */
  check(): void {
    const s = this.#state;
    if (s.kind === 'open' && (this.#now() < s.until || s.probing)) throw rejectedError(s);
  }

  /**
   * Before a provider call: throws the breaker's error while it is open; waits while the first call of an
   * unknown credential is out; otherwise lets the call through.
   */
  async enter(signal?: AbortSignal): Promise<BreakerTicket> {
    for (;;) {
      const s = this.#state;
      if (s.kind === 'trusted') return this.#ticket(false);
      if (s.kind === 'open') {
        if (this.#now() < s.until || s.probing) throw rejectedError(s);
        s.probing = true;
        return this.#ticket(true);
      }
      if (!s.probe) {
        s.probe = new Promise<void>((resolve) => (this.#resolveProbe = resolve));
        return this.#ticket(true);
      }
      await abortable(s.probe, signal);
    }
  }

  #ticket(probe: boolean): BreakerTicket {
    const started = this.#now();
    return {
      settle: (err) => {
        const rejected = err !== undefined && isCredentialRejection(err);
        const s = this.#state;
        if (!rejected) {
          // Any answer that is not a rejection proves the credential passes the provider's checks; a call
          // that was already out when another one opened the breaker does not close it.
          if (s.kind !== 'open' || probe) this.#close();
          return err;
        }
        // Several calls may be rejected at once: only the first opens (or re-opens) a cool-down.
        if (s.kind === 'open' && !(probe && s.probing) && s.openedAt >= started) {
          return rejectedError(s);
        }
        const failures = s.kind === 'open' ? s.failures + 1 : 1;
        const cooldown = Math.min(this.#max, this.#initial * 2 ** (failures - 1));
        const openedAt = this.#now();
        const until = openedAt + cooldown;
        const reason = err instanceof Error ? err.message : String(err);
        const code = (err as { code?: string }).code;
        // Rejected again with the same code is the same failure: keep the first words, even when the real try
        // was another challenge's call (another zone in the provider's text), so no Challenge's reason changes.
        const message =
          s.kind === 'open' && s.code === code
            ? s.message
            : `the provider rejected these credentials: ${reason}. To protect the account, the webhook makes no call ` +
              `with them for a cool-down (${seconds(this.#initial)}, doubling up to ${seconds(this.#max)} while they keep being rejected); ` +
              'a changed Secret is tried at once';
        const open = { kind: 'open' as const, failures, openedAt, until, message, code, probing: false };
        this.#state = open;
        this.#wakeProbeWaiters();
        return rejectedError(open);
      },
      cancel: () => {
        if (!probe) return;
        const s = this.#state;
        if (s.kind === 'open') s.probing = false;
        else if (s.kind === 'unknown') {
          this.#state = { kind: 'unknown' };
          this.#wakeProbeWaiters();
        }
      },
    };
  }

  #close(): void {
    if (this.#state.kind !== 'trusted') {
      this.#state = { kind: 'trusted' };
      this.#wakeProbeWaiters();
    }
  }

  #wakeProbeWaiters(): void {
    const resolve = this.#resolveProbe;
    this.#resolveProbe = undefined;
    resolve?.();
  }
}

function abortable(p: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return p;
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
