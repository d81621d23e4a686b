/**
 * TSIG (RFC 8945): HMAC signatures on a DNS message with a key shared with the server. Signs a request and
 * verifies the server's signed answer (which covers our request's MAC, so a reply cannot be replayed onto
 * another request). Algorithms: hmac-sha256/384/512 (recommended), hmac-sha1/224, hmac-md5 (old servers).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { CLASS, TYPE, encodeName, readName, type ParsedMessage } from './wire.js';

export const TSIG_ALGORITHMS = {
  'hmac-md5': { wireName: 'hmac-md5.sig-alg.reg.int.', hash: 'md5', macBytes: 16 },
  'hmac-sha1': { wireName: 'hmac-sha1.', hash: 'sha1', macBytes: 20 },
  'hmac-sha224': { wireName: 'hmac-sha224.', hash: 'sha224', macBytes: 28 },
  'hmac-sha256': { wireName: 'hmac-sha256.', hash: 'sha256', macBytes: 32 },
  'hmac-sha384': { wireName: 'hmac-sha384.', hash: 'sha384', macBytes: 48 },
  'hmac-sha512': { wireName: 'hmac-sha512.', hash: 'sha512', macBytes: 64 },
} as const;
export type TsigAlgorithm = keyof typeof TSIG_ALGORITHMS;

/** TSIG error field values (RFC 8945 §3 / IANA). */
export const TSIG_ERROR = { BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;
const TSIG_ERROR_NAMES: Record<number, string> = { 0: 'NOERROR', 16: 'BADSIG', 17: 'BADKEY', 18: 'BADTIME', 22: 'BADTRUNC' };
export const tsigErrorName = (code: number) => TSIG_ERROR_NAMES[code] ?? `TSIG error ${code}`;

export interface TsigKey {
  /** Key name as configured on the server, e.g. `acme-update.` (compared case-insensitively). */
  name: string;
  algorithm: TsigAlgorithm;
  secret: Buffer;
}

/** Seconds of clock difference the server accepts (RFC 8945 recommends 300). */
export const DEFAULT_FUDGE = 300;

const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
};
const u48 = (n: number) => {
  const b = Buffer.alloc(6);
  b.writeUIntBE(n, 0, 6);
  return b;
};

interface TsigFields {
  timeSigned: number;
  fudge: number;
  error: number;
  other: Buffer;
}

/** The "TSIG variables" that follow the message in the digest (§4.3.3): canonical names, no MAC. */
function digestVariables(key: TsigKey, f: TsigFields): Buffer {
  return Buffer.concat([
    encodeName(key.name, true),
    u16(CLASS.ANY),
    Buffer.alloc(4), // TTL 0
    encodeName(TSIG_ALGORITHMS[key.algorithm].wireName, true),
    u48(f.timeSigned),
    u16(f.fudge),
    u16(f.error),
    u16(f.other.length),
    f.other,
  ]);
}

function hmac(key: TsigKey, ...parts: Buffer[]): Buffer {
  const h = createHmac(TSIG_ALGORITHMS[key.algorithm].hash, key.secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

export interface SignedRequest {
  message: Buffer;
  /** The request's MAC: a signed reply's digest starts with it. */
  mac: Buffer;
}

/** Appends a TSIG record to `message` (which must have no TSIG yet) and bumps ADCOUNT. */
export function signRequest(message: Buffer, key: TsigKey, nowSeconds: number, fudge = DEFAULT_FUDGE): SignedRequest {
  const fields: TsigFields = { timeSigned: nowSeconds, fudge, error: 0, other: Buffer.alloc(0) };
  const mac = hmac(key, message, digestVariables(key, fields));
  const rdata = Buffer.concat([
    encodeName(TSIG_ALGORITHMS[key.algorithm].wireName, true),
    u48(fields.timeSigned),
    u16(fudge),
    u16(mac.length),
    mac,
    u16(message.readUInt16BE(0)), // original id
    u16(0), // error
    u16(0), // other len
  ]);
  const rrFixed = Buffer.alloc(10);
  rrFixed.writeUInt16BE(TYPE.TSIG, 0);
  rrFixed.writeUInt16BE(CLASS.ANY, 2);
  rrFixed.writeUInt32BE(0, 4);
  rrFixed.writeUInt16BE(rdata.length, 8);
  const signed = Buffer.concat([message, encodeName(key.name, true), rrFixed, rdata]);
  signed.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  return { message: signed, mac };
}

export type ReplySignature =
  /** The reply carries no TSIG record. */
  | { kind: 'unsigned' }
  /** A TSIG record with an error and no MAC (BADKEY/BADSIG: the server could not check our signature). */
  | { kind: 'error-unsigned'; error: number }
  /** Verified: the server holds the key. `error` is its TSIG error (0, or BADTIME with `serverTime`). */
  | { kind: 'verified'; error: number; serverTime?: number }
  /** A TSIG record that does not verify: the reply is not to be trusted. `why` says what failed. */
  | { kind: 'invalid'; why: string };

/**
 * Checks the TSIG record of a reply to a request signed with `key` whose MAC was `requestMac` (§5.3).
 * `nowSeconds` is compared with the reply's time signed (the client-side BADTIME check).
 */
export function verifyReply(reply: Buffer, parsed: ParsedMessage, key: TsigKey, requestMac: Buffer, nowSeconds: number): ReplySignature {
  const rr = parsed.lastAdditional;
  if (!rr || rr.type !== TYPE.TSIG) return { kind: 'unsigned' };
  if (rr.class !== CLASS.ANY) return { kind: 'invalid', why: 'the TSIG record is not of class ANY' };
  let fields: TsigFields & { algorithm: string; mac: Buffer; originalId: number };
  try {
    const alg = readName(reply, rr.rdataOffset);
    const at = alg.end;
    const end = rr.rdataOffset + rr.rdata.length;
    if (at + 10 > end) return { kind: 'invalid', why: 'the TSIG record is truncated' };
    const macSize = reply.readUInt16BE(at + 8);
    const afterMac = at + 10 + macSize;
    if (afterMac + 6 > end) return { kind: 'invalid', why: 'the TSIG record is truncated' };
    const otherLen = reply.readUInt16BE(afterMac + 4);
    if (afterMac + 6 + otherLen !== end) return { kind: 'invalid', why: 'the TSIG record has a wrong length' };
    fields = {
      algorithm: alg.name.toLowerCase(),
      timeSigned: reply.readUIntBE(at, 6),
      fudge: reply.readUInt16BE(at + 6),
      mac: reply.subarray(at + 10, afterMac),
      originalId: reply.readUInt16BE(afterMac),
      error: reply.readUInt16BE(afterMac + 2),
      other: reply.subarray(afterMac + 6, end),
    };
  } catch (err) {
    return { kind: 'invalid', why: (err as Error).message };
  }
  const algorithm = TSIG_ALGORITHMS[key.algorithm];
  if (rr.name.toLowerCase() !== encodeNameText(key.name)) return { kind: 'invalid', why: `signed with key "${rr.name}", not "${key.name}"` };
  if (fields.algorithm !== algorithm.wireName) return { kind: 'invalid', why: `signed with ${fields.algorithm}, not ${algorithm.wireName}` };
  // The server could not verify us: it answers without a MAC (§5.3.2).
  if (fields.mac.length === 0 && (fields.error === TSIG_ERROR.BADSIG || fields.error === TSIG_ERROR.BADKEY)) {
    return { kind: 'error-unsigned', error: fields.error };
  }
  // A truncated MAC must keep at least half the digest and 10 bytes (§5.2.2.1).
  if (fields.mac.length > algorithm.macBytes || fields.mac.length < Math.max(10, algorithm.macBytes / 2)) {
    return { kind: 'invalid', why: `MAC of ${fields.mac.length} bytes for ${key.algorithm}` };
  }
  // The digest covers the reply as it was before the TSIG record was added: original id, ADCOUNT - 1.
  const unsigned = Buffer.from(reply.subarray(0, rr.offset));
  unsigned.writeUInt16BE(fields.originalId, 0);
  unsigned.writeUInt16BE(parsed.counts.additional - 1, 10);
  const expected = hmac(key, u16(requestMac.length), requestMac, unsigned, digestVariables(key, fields)).subarray(0, fields.mac.length);
  if (!timingSafeEqual(expected, fields.mac)) return { kind: 'invalid', why: 'the MAC does not match (wrong secret or tampered reply)' };
  if (fields.error === TSIG_ERROR.BADTIME) {
    const serverTime = fields.other.length === 6 ? fields.other.readUIntBE(0, 6) : undefined;
    return { kind: 'verified', error: fields.error, ...(serverTime === undefined ? {} : { serverTime }) };
  }
  if (Math.abs(nowSeconds - fields.timeSigned) > fields.fudge) {
    return { kind: 'invalid', why: `signed at ${fields.timeSigned}, ${nowSeconds - fields.timeSigned} s from this host's clock (fudge ${fields.fudge} s)` };
  }
  return { kind: 'verified', error: fields.error };
}

/** A key name in the form readName returns (absolute, lower-case). */
function encodeNameText(name: string): string {
  const n = name.toLowerCase().replace(/\.$/, '');
  return n === '' ? '.' : `${n}.`;
}
