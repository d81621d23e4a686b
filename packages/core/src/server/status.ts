/**
 * Kubernetes `Status` objects (metav1.Status), the error body every aggregated API server returns and
 * kubectl / client-go know how to print.
 */
import type { ServerResponse } from 'node:http';
import { constants, type Http2Stream } from 'node:http2';

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
 * Writes a JSON answer. An error answered before the request body was received in full also closes the
 * connection: the rest of the body is never read, so a client cannot hold the socket open by trickling it.
 * The body often arrived with the headers and is still being parsed when an early answer (401, 404, ...) is
 * ready, so that check waits for the parser to finish the data at hand (one setImmediate) before deciding.
 */
export function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const req = res.req as ServerResponse['req'] | undefined;
  if (code >= 400 && req !== undefined && !req.complete) {
    setImmediate(() => {
      if (!res.headersSent && !res.destroyed) write(res, code, body, { ...headers, ...(req.complete ? {} : endsExchange(res)) });
    });
    return;
  }
  write(res, code, body, headers);
}

/**
 * Headers for an answer after which the client must stop sending this request: `Connection: close` on
 * HTTP/1.1. HTTP/2 has no Connection header (Node throws on one): there the stream is reset with NO_ERROR
 * once the answer is out, which tells the client to stop sending the body (RFC 9113 §8.1); its session lives on.
 */
export function endsExchange(res: ServerResponse): Record<string, string> {
  const stream = (res as { stream?: Http2Stream }).stream;
  if (stream === undefined) return { Connection: 'close' };
  stream.once('finish', () => stream.close(constants.NGHTTP2_NO_ERROR));
  return {};
}

function write(res: ServerResponse, code: number, body: unknown, headers: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    ...headers,
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
