/**
 * Structured JSON logs (pino: fast, JSON by default, child loggers, and redaction paths).
 * Secret values never reach a log line: solvers only see them through the secrets reader, and the
 * challenge executor redacts every value it handed out from messages.
 */
import { pino, type DestinationStream, type Level } from 'pino';
import type { Logger } from '../solver/contract.js';

export type LogLevel = Level;

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  const instance = pino(
    {
      level: options.level ?? 'info',
      base: { component: 'dns01-webhook' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ['headers.authorization', 'config.*.secret*', '*.secretKey', '*.secretAccessKey', '*.apiKey', '*.apiToken', '*.token'],
        censor: '[redacted]',
      },
    },
    options.destination,
  );
  return instance as unknown as Logger;
}

/** A logger that drops everything (library use, tests that do not inspect logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' }) as unknown as Logger;
}
