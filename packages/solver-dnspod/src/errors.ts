/**
 * Turns what the Tencent Cloud SDK throws (TencentCloudSDKHttpException: `.code` for API errors, `.httpCode`
 * for non-200 answers, neither for network failures) into a SolverError a person can act on, with the
 * DNSPod code and `retryable` for throttling, 5xx and network trouble.
 */
import { SolverError } from '@dns01-webhook/core';

/** What the SDK's exception carries (it has no exported type guard, so read it structurally). */
export interface SdkException {
  message?: string;
  code?: string;
  httpCode?: number;
  requestId?: string;
  traceId?: string;
}

/** The documented quotas are per second: waiting a second lets the bucket refill. */
const THROTTLE_WAIT_MS = 1000;

const TRANSIENT = new Set(['InternalError', 'FailedOperation.UnknowError', 'InvalidParameter.OperateFailed', 'ResourceUnavailable']);

/** The permissions the solver needs, for "access denied" messages. */
export const REQUIRED_ACTIONS = 'dnspod:DescribeDomain, dnspod:DescribeDomainList, dnspod:DescribeDomainPurview, dnspod:DescribeRecordList, dnspod:DescribeRecord, dnspod:CreateRecord, dnspod:DeleteRecord';

export function codeOf(err: unknown): string | undefined {
  const code = (err as SdkException | undefined)?.code;
  return typeof code === 'string' && code !== '' ? code : undefined;
}

/** node-fetch's `… is not a legal HTTP header value`, node:http's ERR_INVALID_CHAR, anywhere in the cause chain. */
function isInvalidHeader(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === 'ERR_INVALID_CHAR' || /not a legal HTTP header value|invalid header value|invalid character in header/i.test(e.message)) return true;
  }
  return false;
}

export function dnspodError(action: string, err: unknown, context: { endpoint: string; domain?: string; aborted?: boolean }): SolverError {
  if (err instanceof SolverError) return err;
  const e = (err ?? {}) as SdkException;
  const code = codeOf(err);
  const detail = e.message ?? String(err);
  const where = context.domain ? ` on ${context.domain}` : '';
  // The RequestId differs on every call: it goes to the log (`details`), never into the message, which
  // cert-manager stores in the Challenge status — a changing status re-queues the Challenge at once.
  const details = e.requestId || e.traceId ? { requestId: e.requestId, ...(e.traceId ? { traceId: e.traceId } : {}) } : undefined;
  const opts = { code, cause: err, ...(details ? { details } : {}) };

  if (isInvalidHeader(err)) {
    // The SDK puts the SecretId into the Authorization header; Node refuses a header with a line break and
    // quotes the whole header in its error. Retrying cannot help; the fix is in the Secret.
    return new SolverError(
      `DNSPod ${action}: the SecretId cannot be sent as an HTTP header (it contains a line break or another control character); check the value of config.secretId or of the Secret named by secretIdRef`,
      { code: 'InvalidCredentialFormat', cause: err },
    );
  }
  if (context.aborted) {
    return new SolverError(`DNSPod ${action}${where} did not answer before the challenge deadline (${detail})`, { code: 'DeadlineExceeded', cause: err, ...(details ? { details } : {}) });
  }
  if (code !== undefined) {
    const base = `DNSPod ${action}${where} failed: ${code}: ${detail}`;
    if (code.startsWith('RequestLimitExceeded')) {
      return new SolverError(`${base} (DNSPod's per-second rate limit for this action)`, { ...opts, retryable: true, retryAfterMs: THROTTLE_WAIT_MS });
    }
    if (TRANSIENT.has(code)) return new SolverError(base, { ...opts, retryable: true });
    // Rejected credentials open the core's breaker for this key (no more calls with it for a cool-down).
    const rejected = { ...opts, credentialsRejected: true };
    if (code === 'AuthFailure.SecretIdNotFound') {
      return new SolverError(`${base} — DNSPod does not know this SecretId; check config.secretId / secretIdRef (API keys: console.cloud.tencent.com/cam/capi)`, rejected);
    }
    if (code === 'AuthFailure.SignatureFailure') {
      return new SolverError(`${base} — the SecretKey does not belong to this SecretId; check the Secret named by config.secretKeyRef`, rejected);
    }
    if (code === 'AuthFailure.SignatureExpire') {
      return new SolverError(`${base} — this host's clock is more than 5 minutes off; fix NTP on the node`, rejected);
    }
    if (code.startsWith('AuthFailure') || code.startsWith('UnauthorizedOperation') || code.startsWith('OperationDenied')) {
      return new SolverError(`${base} — the API key lacks permission${where}; grant QcloudDNSPodFullAccess or a policy allowing ${REQUIRED_ACTIONS}`, rejected);
    }
    return new SolverError(base, opts);
  }
  if (typeof e.httpCode === 'number') {
    const retryable = e.httpCode >= 500 || e.httpCode === 429;
    return new SolverError(`DNSPod ${action}${where} failed: HTTP ${e.httpCode} ${detail}`, {
      code: `HTTP${e.httpCode}`,
      retryable,
      cause: err,
      ...(details ? { details } : {}),
    });
  }
  // No code and no status: the request never got an answer (connection refused, reset, SDK timeout).
  return new SolverError(`cannot reach DNSPod at ${context.endpoint} for ${action}: ${detail}`, { code: 'NetworkError', retryable: true, cause: err });
}
