/**
 * Structured JSON logs (pino: fast, JSON by default, child loggers, and redaction paths).
 * Secret values never reach a log line: every challenge logs through `redactingLogger`, which scrubs each
 * value the core handed the solver (see redact.ts) from messages, fields, error objects and their `cause`
 * chains before the line is written, whatever logger sits underneath.
 */
import { pino, type DestinationStream, type Level } from 'pino';
import type { Logger } from '../solver/contract.js';
import type { SecretRegistry } from './redact.js';

export type LogLevel = Level;

/** Longest a buffered line waits for the next write (see `buffered`). */
export const LOG_FLUSH_INTERVAL_MS = 250;

export interface LoggerOptions {
  level?: string;
  destination?: DestinationStream;
  /**
   * Stdout written in chunks of up to 8 KiB (below sonic-boom's 16 KiB maxWrite), off the event loop, at least
   * every LOG_FLUSH_INTERVAL_MS, and in full when the process exits (pino flushes its own destinations then).
   * For `serve`: one line per challenge written on its own cost the server ≈ 20 µs of main-thread time each
   * (one threadpool write per line), more while the disk or a pipe reader was slow — ≈ 10% of a challenge.
   * Lost on SIGKILL: at most that buffer.
   */
  buffered?: boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  let destination = options.destination;
  if (!destination && options.buffered) {
    const buffered = pino.destination({ sync: false, minLength: 8 * 1024 });
    setInterval(() => buffered.flush(), LOG_FLUSH_INTERVAL_MS).unref();
    destination = buffered;
  }
  const instance = pino(
    {
      level: options.level ?? 'info',
      base: { component: 'dns01-webhook' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // A challenge's logger hands over errors already copied and scrubbed (redactingLogger); pino's own
      // serializer would re-read that copy as an error ("type":"Object", cause messages appended).
      serializers: { err: (value: unknown) => (value instanceof Error ? pino.stdSerializers.err(value) : value) },
      // Keyed paths only: a path starting with `*` makes pino run its redactor on every field of every line (≈ 3%
      // of a challenge's CPU). Challenge lines need none of it: redactingLogger censors credential-named keys
      // (SENSITIVE_KEY in redact.ts: token, apiKey, secretAccessKey, ...) at any depth, and registered secrets.
      redact: { paths: ['headers.authorization', 'headers.cookie', 'config.*.secret*'], censor: '[redacted]' },
    },
    destination,
  );
  return instance as unknown as Logger;
}

/** A logger that drops everything (library use, tests that do not inspect logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' }) as unknown as Logger;
}

type Method = 'debug' | 'info' | 'warn' | 'error';

/** Whether `logger` writes lines at `level` (pino's isLevelEnabled; loggers without one write all). */
function levelEnabled(logger: Logger, level: Method): boolean {
  const check = (logger as { isLevelEnabled?: (l: string) => boolean }).isLevelEnabled;
  return typeof check === 'function' ? check.call(logger, level) : true;
}

/**
 * `parent` with `bindings` on every line — what `parent.child(bindings)` writes, without building a pino child
 * (its bindings serialized up front) for each challenge, most of which log one line.
 */
export function withBindings(parent: Logger, bindings: Record<string, unknown>): Logger {
  const method = (level: Method) => (obj: object, msg?: string) => {
    const line = { ...bindings, ...obj };
    if (msg === undefined) parent[level](line);
    else parent[level](line, msg);
  };
  return {
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    child: (more) => withBindings(parent, { ...bindings, ...more }),
    isLevelEnabled: (level: Method) => levelEnabled(parent, level),
  } as Logger;
}

/**
 * `inner` with every registered secret scrubbed from each line: the message, every field at any depth,
 * Error objects (message, code, own fields, `cause` chain, AggregateError `errors`; stack on debug/error
 * lines). Children share the registry, so a secret read after `child()` is still scrubbed there.
 * Also accepts pino's loose call shapes from untyped solvers: `log.warn(err)` and `log.info('text')`.
 */
export function redactingLogger(inner: Logger, secrets: SecretRegistry): Logger {
  const method = (level: Method) => (obj: unknown, msg?: unknown) => {
    if (!levelEnabled(inner, level)) return;
    const stacks = level === 'debug' || level === 'error';
    let fields: unknown = obj;
    let text: unknown = msg;
    if (typeof obj === 'string') {
      fields = {};
      text = msg === undefined ? obj : `${obj} ${String(msg)}`;
    } else if (obj instanceof Error) {
      fields = { err: obj };
      text ??= obj.message;
    }
    const clean = secrets.loggable(fields ?? {}, { stacks });
    const line = typeof clean === 'object' && clean !== null && !Array.isArray(clean) ? clean : { value: clean };
    if (text === undefined) inner[level](line);
    else inner[level](line, secrets.scrub(String(text)));
  };
  return {
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    child: (bindings) => redactingLogger(inner.child(secrets.loggable(bindings) as Record<string, unknown>), secrets),
  };
}
