/**
 * AWS Signature Version 4 verification, written from the published algorithm (not the SDK's signer), so the
 * emulator independently proves the SDK signed with the key it was given:
 * canonical request → string to sign → HMAC chain over the credential scope → compare.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface KnownKey {
  secretAccessKey: string;
  /** Temporary credentials (from the emulator's STS) must send this as x-amz-security-token. */
  sessionToken?: string;
}

export type SigV4Result =
  | { ok: true; accessKeyId: string; region: string; service: string }
  | { ok: false; status: number; code: string; message: string };

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 unreserved characters stay; everything else is %XX (upper-case), as SigV4 requires. */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  const pairs = rawQuery
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      const k = decodeURIComponent(eq < 0 ? p : p.slice(0, eq));
      const v = eq < 0 ? '' : decodeURIComponent(p.slice(eq + 1));
      return [uriEncode(k), uriEncode(v)] as const;
    });
  pairs.sort((a, b) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/**
 * Non-S3 services sign the path normalised (empty, `.` and `..` segments resolved) and URI-encoded once
 * more on top of the encoding it has on the wire.
 */
function canonicalPath(rawPath: string): string {
  const segments: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(uriEncode(segment));
  }
  const trailing = segments.length > 0 && rawPath.endsWith('/') ? '/' : '';
  return `/${segments.join('/')}${trailing}`;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([a-z0-9\-;]+),\s*Signature=([0-9a-f]{64})$/;

export interface VerifyInput {
  method: string;
  /** Path and query exactly as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  keys: (accessKeyId: string) => KnownKey | undefined;
  /** Service name the scope must carry (`route53`, `sts`). */
  service: string;
  /** Allowed clock skew; AWS allows 5 minutes. */
  maxSkewMs?: number;
  now?: number;
}

export function verifySigV4(input: VerifyInput): SigV4Result {
  const auth = headerValue(input.headers, 'authorization');
  if (!auth) {
    return { ok: false, status: 403, code: 'MissingAuthenticationToken', message: 'Missing Authentication Token' };
  }
  const m = AUTH.exec(auth.trim());
  if (!m) {
    return { ok: false, status: 400, code: 'IncompleteSignature', message: `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters with AWS4-HMAC-SHA256.` };
  }
  const [, accessKeyId, date, region, service, signedHeadersList, signature] = m as unknown as string[];
  const key = input.keys(accessKeyId!);
  if (!key) {
    return { ok: false, status: 403, code: 'InvalidClientTokenId', message: 'The security token included in the request is invalid.' };
  }
  if (key.sessionToken !== undefined && headerValue(input.headers, 'x-amz-security-token') !== key.sessionToken) {
    return { ok: false, status: 403, code: 'InvalidClientTokenId', message: 'The security token included in the request is invalid.' };
  }
  if (service !== input.service) {
    return { ok: false, status: 403, code: 'SignatureDoesNotMatch', message: `Credential should be scoped to correct service: '${input.service}'.` };
  }
  const amzDate = headerValue(input.headers, 'x-amz-date');
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== date) {
    return { ok: false, status: 403, code: 'SignatureDoesNotMatch', message: 'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.' };
  }
  const signedAt = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
  const now = input.now ?? Date.now();
  if (Math.abs(now - signedAt) > (input.maxSkewMs ?? 5 * 60_000)) {
    return { ok: false, status: 403, code: 'SignatureDoesNotMatch', message: `Signature expired: ${amzDate} is now earlier than the allowed clock skew` };
  }
  const signedHeaders = signedHeadersList!.split(';');
  if (!signedHeaders.includes('host')) {
    return { ok: false, status: 403, code: 'SignatureDoesNotMatch', message: "'Host' must be a signed header." };
  }
  const canonicalHeaders = signedHeaders
    .map((h) => `${h}:${(headerValue(input.headers, h) ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const payloadHash = sha256(input.body);
  const claimed = headerValue(input.headers, 'x-amz-content-sha256');
  if (claimed !== undefined && claimed !== payloadHash) {
    return { ok: false, status: 400, code: 'XAmzContentSHA256Mismatch', message: 'The provided x-amz-content-sha256 header does not match what was computed.' };
  }
  const q = input.url.indexOf('?');
  const rawPath = q < 0 ? input.url : input.url.slice(0, q);
  const rawQuery = q < 0 ? '' : input.url.slice(q + 1);
  const canonicalRequest = [input.method, canonicalPath(rawPath), canonicalQuery(rawQuery), canonicalHeaders, signedHeadersList, payloadHash].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${key.secretAccessKey}`, date!), region!), service!), 'aws4_request');
  const expected = createHmac('sha256', signingKey).update(stringToSign).digest();
  const given = Buffer.from(signature!, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return {
      ok: false,
      status: 403,
      code: 'SignatureDoesNotMatch',
      message: 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    };
  }
  return { ok: true, accessKeyId: accessKeyId!, region: region!, service: service! };
}
