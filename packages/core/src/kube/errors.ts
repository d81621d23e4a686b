/**
 * One error type for every kube-apiserver call, carrying the HTTP status so callers can turn 403/404 into
 * messages a person can act on without knowing @kubernetes/client-node's exception shapes.
 */
export class KubeApiError extends Error {
  /** HTTP status code; 0 when no response arrived (connection refused, TLS failure, timeout). */
  readonly status: number;
  /** metav1.Status `reason` (`Forbidden`, `NotFound`, `Expired`, ...) when the server sent one. */
  readonly reason: string | undefined;
  readonly retryable: boolean;

  constructor(message: string, status: number, reason?: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
    this.retryable = status === 0 || status === 429 || status >= 500;
  }
}

interface StatusBody {
  message?: unknown;
  reason?: unknown;
}

function parseStatus(body: unknown): StatusBody | undefined {
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as StatusBody;
    } catch {
      return body.trim() === '' ? undefined : { message: body.trim().slice(0, 300) };
    }
  }
  return typeof body === 'object' && body !== null ? (body as StatusBody) : undefined;
}

/**
 * Normalises what @kubernetes/client-node throws: `ApiException` (has `code` + raw `body`), the Watch's
 * `Error` with `statusCode`, or a network error from node-fetch.
 */
export function toKubeApiError(err: unknown, operation: string): KubeApiError {
  if (err instanceof KubeApiError) return err;
  const e = err as { code?: unknown; statusCode?: unknown; body?: unknown; message?: unknown };
  const status = typeof e?.code === 'number' ? e.code : typeof e?.statusCode === 'number' ? e.statusCode : 0;
  if (status === 0) {
    const detail = typeof e?.message === 'string' ? e.message : String(err);
    return new KubeApiError(`${operation}: kube-apiserver unreachable: ${detail}`, 0, undefined, { cause: err });
  }
  const parsed = parseStatus(e.body);
  const reason = typeof parsed?.reason === 'string' ? parsed.reason : undefined;
  const detail =
    typeof parsed?.message === 'string' && parsed.message !== ''
      ? parsed.message
      : status === 401
        ? 'Unauthorized (the webhook\'s own credentials were rejected)'
        : `HTTP ${status}`;
  return new KubeApiError(`${operation}: ${detail} (HTTP ${status})`, status, reason, { cause: err });
}
