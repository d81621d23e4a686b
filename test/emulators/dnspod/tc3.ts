/**
 * TC3-HMAC-SHA256 verification, as Tencent Cloud API 3.0 documents it ("Signature v3"): the server rebuilds the
 * canonical request from what it received and recomputes the signature with the SecretKey it knows for the
 * SecretId in the credential scope. Written from the documented algorithm, not copied from the SDK, so the
 * SDK's signer is really checked.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export type AuthFailure =
  | 'AuthFailure.InvalidAuthorization'
  | 'AuthFailure.SecretIdNotFound'
  | 'AuthFailure.SignatureExpire'
  | 'AuthFailure.SignatureFailure';

export interface VerifyInput {
  method: string;
  /** Request path and query, as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** SecretId → SecretKey. */
  keys: ReadonlyMap<string, string>;
  /** Server clock, epoch seconds. */
  nowSeconds: number;
  /** Allowed clock skew (documented: 5 minutes). */
  maxSkewSeconds: number;
}

export type VerifyResult = { ok: true; secretId: string } | { ok: false; code: AuthFailure; message: string };

const AUTH = /^TC3-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{4}-\d{2}-\d{2})\/([^/,\s]+)\/tc3_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/;

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

function utcDate(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().slice(0, 10);
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** The API gateway derives the service from the host's first label (`dnspod.tencentcloudapi.com` → `dnspod`). */
export function serviceOfHost(host: string): string {
  return hostnameOf(host).split('.')[0] ?? '';
}

/** Host header without its port: the documented canonical `host` value is the domain only. */
function hostnameOf(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon >= 0 ? host.slice(0, colon) : host;
}

export function signatureOf(secretKey: string, date: string, service: string, stringToSign: string): string {
  const kDate = hmac(`TC3${secretKey}`, date);
  const kService = hmac(kDate, service);
  const kSigning = hmac(kService, 'tc3_request');
  return createHmac('sha256', kSigning).update(stringToSign).digest('hex');
}

export function verifyTc3(input: VerifyInput): VerifyResult {
  const authorization = header(input.headers, 'authorization') ?? '';
  const m = AUTH.exec(authorization);
  if (!m) {
    return { ok: false, code: 'AuthFailure.InvalidAuthorization', message: 'Authorization header is not a TC3-HMAC-SHA256 signature.' };
  }
  const [, secretId, date, service, signedHeaders, signature] = m as unknown as [string, string, string, string, string, string];
  const timestamp = Number(header(input.headers, 'x-tc-timestamp'));
  if (!Number.isInteger(timestamp)) {
    return { ok: false, code: 'AuthFailure.InvalidAuthorization', message: 'X-TC-Timestamp is missing or not an integer.' };
  }
  if (Math.abs(input.nowSeconds - timestamp) > input.maxSkewSeconds) {
    return {
      ok: false,
      code: 'AuthFailure.SignatureExpire',
      message: `Signature expired. Timestamp ${timestamp} differs from server time ${input.nowSeconds} by more than five minutes.`,
    };
  }
  const secretKey = input.keys.get(secretId);
  if (secretKey === undefined) {
    return { ok: false, code: 'AuthFailure.SecretIdNotFound', message: 'The SecretId is not found, please ensure that your SecretId is correct.' };
  }
  const names = signedHeaders.split(';');
  const failure = (why: string): VerifyResult => ({
    ok: false,
    code: 'AuthFailure.SignatureFailure',
    message: `The provided credentials could not be validated. Please check your signature is correct. (${why})`,
  });
  if (!names.includes('content-type') || !names.includes('host')) return failure('SignedHeaders must include content-type and host');
  if (date !== utcDate(timestamp)) return failure('credential scope date does not match X-TC-Timestamp');
  const host = header(input.headers, 'host') ?? '';
  if (service !== serviceOfHost(host)) return failure(`credential scope service "${service}" does not match host`);

  const canonicalHeaders = names
    .map((name) => {
      const raw = name === 'host' ? hostnameOf(host) : (header(input.headers, name) ?? '');
      return `${name}:${raw.trim().toLowerCase()}\n`;
    })
    .join('');
  const [path, query = ''] = input.url.split('?') as [string, string?];
  const canonicalRequest = [input.method, path, query, canonicalHeaders, signedHeaders, sha256Hex(input.body)].join('\n');
  const stringToSign = ['TC3-HMAC-SHA256', String(timestamp), `${date}/${service}/tc3_request`, sha256Hex(canonicalRequest)].join('\n');
  const expected = Buffer.from(signatureOf(secretKey, date, service, stringToSign), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) return failure('signature mismatch');
  return { ok: true, secretId };
}
