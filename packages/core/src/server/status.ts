/**
 * Kubernetes `Status` objects (metav1.Status), the error body every aggregated API server returns and
 * kubectl / client-go know how to print.
 */
import type { ServerResponse } from 'node:http';

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'TooManyRequests'
  | 'Timeout'
  | 'InternalError'
  | 'ServiceUnavailable';

const REASON_BY_CODE: Record<number, StatusReason> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  408: 'Timeout',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  429: 'TooManyRequests',
  431: 'BadRequest',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: StatusReason;
  code: number;
}

export function failureStatus(code: keyof typeof REASON_BY_CODE | number, message: string): KubeStatus {
  const reason = REASON_BY_CODE[code] ?? 'InternalError';
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/** An error answer, thrown by route handlers and rendered as a Status by the app's error handler. */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'StatusError';
  }
}

/**
 * Writes a JSON answer. An error answered before the request body was read in full also closes the
 * connection: the rest of the body is never read, so a client cannot hold the socket open by trickling it.
 */
export function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  const unreadBody = code >= 400 && res.req !== undefined && !res.req.complete;
  res.writeHead(code, {
    ...headers,
    ...(unreadBody ? { Connection: 'close' } : {}),
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    // Errors and challenge answers must never be cached by a proxy in between.
    'Cache-Control': 'no-cache, private',
  });
  res.end(text);
}

export function sendStatus(res: ServerResponse, code: number, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, code, failureStatus(code, message), headers);
}
