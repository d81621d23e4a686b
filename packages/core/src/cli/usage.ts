/** Shared CLI plumbing: usage errors (exit 2) and flag parsing on node:util parseArgs. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake in how the command was called: exit code 2, message says which flag and what is expected. */
export class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs with its errors turned into UsageErrors naming the command. */
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: false; strict: true }>>['values'];

export function parseFlags<O extends Options>(command: string, argv: string[], options: O): Parsed<O> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values;
  } catch (err) {
    // parseArgs messages already name the flag ("Unknown option '--x'", "Option '--fqdn <value>' argument missing").
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''), command);
  }
}

export function required(command: string, values: Record<string, unknown>, name: string, what: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} is required (${what})`, command);
  return value;
}

/** A positive number of seconds, for --timeout style flags. */
export function seconds(command: string, flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${flag} must be a positive number of seconds, got "${value}"`, command);
  return n;
}

/** A TCP/UDP port; 0 means "any free port". */
export function port(command: string, flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--${flag} must be a port number 0-65535, got "${value}"`, command);
  return n;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** A pino log level for --log-level. */
export function logLevel(command: string, value: string | undefined, fallback: string): string {
  if (value === undefined) return fallback;
  if (!LOG_LEVELS.includes(value)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${value}"`, command);
  return value;
}
