/**
 * AWS SDK errors → SolverError with the AWS error code, `retryable` for throttling / 5xx / network trouble /
 * compare-and-swap conflicts, and a hint a person can act on.
 */
import { SolverError } from '@dns01-webhook/core';

/** The credentials themselves were refused: the core's breaker stops calls with them for a cool-down. */
const REJECTED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'InvalidIdentityToken',
]);

const THROTTLING = new Set(['Throttling', 'ThrottlingException', 'PriorRequestNotComplete', 'RequestLimitExceeded', 'TooManyRequestsException']);
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'TimeoutError', 'RequestTimeout']);

/**
 * InvalidChangeBatch messages that mean "the set changed between our read and our write" — the
 * compare-and-swap lost a race, so read again and retry.
 */
const CONFLICT = /but it already exists|but it was not found|do not match the current values|cannot be created as/;

export function isConflict(err: unknown): boolean {
  return err instanceof SolverError && err.code === 'InvalidChangeBatch' && CONFLICT.test(err.message);
}

function hint(code: string, call: string): string {
  switch (code) {
    case 'InvalidClientTokenId':
    case 'UnrecognizedClientException':
      return 'AWS does not know this access key id: check accessKeyID / accessKeyIDSecretRef';
    case 'SignatureDoesNotMatch':
    case 'IncompleteSignature':
      return 'the secret access key does not match the access key id (check secretAccessKeySecretRef), or the clock is off';
    case 'ExpiredToken':
      return 'the temporary credentials expired; they are refreshed on the next attempt';
    case 'AccessDenied':
    case 'AccessDeniedException':
      return call === 'AssumeRole' || call === 'AssumeRoleWithWebIdentity'
        ? "the role's trust policy does not allow these credentials to assume it"
        : `the IAM policy must allow route53:${call} (cert-manager documents: GetChange on change/*, ChangeResourceRecordSets and ListResourceRecordSets on hostedzone/*, ListHostedZonesByName on *)`;
    case 'InvalidIdentityToken':
      return "STS rejected the ServiceAccount token: check the role's OIDC trust (issuer, audience, sub system:serviceaccount:<ns>:<name>)";
    case 'NoSuchHostedZone':
      return 'check hostedZoneID, or that these credentials belong to the account hosting the zone';
    case 'InvalidChangeBatch':
      return 'Route 53 rejected the change';
    default:
      return '';
  }
}

interface AwsLikeError {
  name?: string;
  code?: string;
  message?: string;
  $fault?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** Maps any error from one SDK call; SolverErrors pass through untouched. */
export function toSolverError(err: unknown, call: string): unknown {
  if (err instanceof SolverError) return err;
  if (typeof err !== 'object' || err === null) return new SolverError(`route53 ${call}: ${String(err)}`, { retryable: false });
  const e = err as AwsLikeError;
  if (e.name === 'AbortError') return err;
  if ((e as { code?: unknown }).code === 'ERR_INVALID_CHAR') {
    // Node refuses a header with a line break; the signed Authorization header carries the access key id.
    return new SolverError(
      `route53 ${call}: the access key id cannot be sent as an HTTP header (it contains a line break or another control character); check accessKeyID or the Secret named by accessKeyIDSecretRef`,
      { code: 'InvalidCredentialFormat', cause: err },
    );
  }
  const status = e.$metadata?.httpStatusCode;
  // Socket errors carry their errno in `code` (ECONNREFUSED, ENOTFOUND); AWS errors carry theirs in `name`.
  const code = (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code) ? e.code : e.name) ?? 'Error';
  const retryable = THROTTLING.has(code) || (status !== undefined && status >= 500) || NETWORK.has(code) || e.$retryable !== undefined;
  const help = hint(code, call);
  const where = status === undefined ? '' : ` (HTTP ${status})`;
  const network = NETWORK.has(code) || code === 'ENOTFOUND' ? ' — cannot reach the Route 53 API (check endpoint / proxyURL and network policy)' : '';
  const message = `route53 ${call} failed: ${code}${where}: ${e.message ?? ''}${help ? ` — ${help}` : network}`;
  return new SolverError(message, { code, retryable, credentialsRejected: !retryable && REJECTED.has(code), cause: err });
}
