/**
 * One RFC 2136 UPDATE exchange: encode, sign (TSIG), send over UDP (TCP when truncated, or always with
 * protocol TCP) through the core's DNS transport, verify the signed reply, and turn every failure into a
 * SolverError a person can act on. Nothing here holds state between calls.
 */
import { randomInt } from 'node:crypto';
import { SolverError, dnsExchange } from '@dns01-webhook/core';
import { signRequest, tsigErrorName, verifyReply, TSIG_ERROR, type TsigKey } from './tsig.js';
import dnsPacket from 'dns-packet';
import { encodeQuery, encodeUpdate, OPCODE_UPDATE, parseMessage, TYPE, type ParsedMessage, type ResourceRecord } from './wire.js';

/** Header RCODEs an UPDATE may get (RFC 1035, RFC 2136 §2.2). */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, YXDOMAIN: 6, YXRRSET: 7, NXRRSET: 8, NOTAUTH: 9, NOTZONE: 10 } as const;
const RCODE_NAMES = Object.fromEntries(Object.entries(RCODE).map(([k, v]) => [v, k])) as Record<number, string>;
export const rcodeName = (code: number) => RCODE_NAMES[code] ?? `RCODE${code}`;

export interface UpdateOptions {
  nameserver: string;
  zone: string;
  key?: TsigKey;
  protocol: 'UDP' | 'TCP';
  timeoutMs: number;
  signal?: AbortSignal;
  /** Seconds since the epoch; injectable so a test can send a request signed with a skewed clock. */
  now?: () => number;
}

export interface UpdateResult {
  overTcp: boolean;
}

/** A failed UPDATE: `code` is the RCODE or TSIG error name, e.g. `REFUSED`, `NOTAUTH/BADSIG`. */
export class UpdateError extends SolverError {
  /** BADTIME only: the server's clock minus ours, in seconds, when the server said. */
  skewSeconds?: number;
  constructor(message: string, readonly rcode: string, retryable = false) {
    super(message, { code: rcode, retryable });
    this.name = 'UpdateError';
  }
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

interface SignedReply {
  reply: Buffer;
  parsed: ParsedMessage;
  overTcp: boolean;
}

/**
 * Signs `unsigned` (when there is a key), sends it, takes only a reply to it (our id, QR set, same opcode) and
 * checks the reply's TSIG: a TSIG error or a reply that fails verification throws; the RCODE is the caller's.
 */
async function signedExchange(unsigned: Buffer, opcode: number, what: string, options: UpdateOptions): Promise<SignedReply> {
  const now = options.now ?? nowSeconds;
  const id = unsigned.readUInt16BE(0);
  const signed = options.key ? signRequest(unsigned, options.key, now()) : undefined;
  let parsed: ParsedMessage | undefined;
  const accept = (reply: Buffer) => {
    try {
      const p = parseMessage(reply);
      // Anything that is not a reply to this message is ignored, not an error.
      if (p.id !== id || !p.response || p.opcode !== opcode) return false;
      parsed = p;
      return true;
    } catch {
      return false;
    }
  };
  let exchange;
  try {
    exchange = await dnsExchange(
      signed?.message ?? unsigned,
      { server: options.nameserver, tcp: options.protocol === 'TCP', timeoutMs: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) },
      accept,
    );
  } catch (err) {
    if (options.signal?.aborted) throw err;
    // No answer (lost datagram, server busy or down): updates are idempotent, so a retry is safe.
    // Without the per-attempt timeout (it shrinks with the deadline), so every retry reads the same.
    const why = (err as Error).message.replace(/ within \d+ ms/, '');
    // Code NoAnswer, not Timeout: for the core a Timeout is the challenge deadline talking, while this is
    // the server's failure, which the message at the deadline should name (core challenge/message.ts).
    throw new UpdateError(`rfc2136: the ${what} got no answer from ${options.nameserver}: ${why}`, 'NoAnswer', true);
  }
  const reply = parsed!;
  if (!options.key || !signed) return { reply: exchange.reply, parsed: reply, overTcp: exchange.overTcp };
  const where = `${options.nameserver} (zone ${options.zone})`;
  const signature = verifyReply(exchange.reply, reply, options.key, signed.mac, now());
  const keyDesc = `TSIG key "${options.key.name}" (${options.key.algorithm})`;
  switch (signature.kind) {
    case 'error-unsigned':
      throw tsigFailure(signature.error, where, keyDesc, rcodeName(reply.rcode));
    case 'invalid':
      throw new UpdateError(`rfc2136: the answer from ${where} failed TSIG verification with ${keyDesc}: ${signature.why}; the result of the ${what} is unknown`, 'BADSIG');
    case 'verified':
      if (signature.error === TSIG_ERROR.BADTIME) {
        // The skew goes to the log, not the message: the message must read the same on every retry.
        const err = new UpdateError(
          `rfc2136: ${where} rejected the request time (${rcodeName(reply.rcode)}/BADTIME): this host's clock and the server's differ by more than the 300 s fudge allows; fix the clock (NTP) on one of them`,
          `${rcodeName(reply.rcode)}/BADTIME`,
        );
        if (signature.serverTime !== undefined) err.skewSeconds = signature.serverTime - now();
        throw err;
      }
      if (signature.error !== 0) throw tsigFailure(signature.error, where, keyDesc, rcodeName(reply.rcode));
      break;
    case 'unsigned':
      // Errors are often sent unsigned (e.g. by a server that knows no TSIG); the caller reports the RCODE.
      if (reply.rcode === RCODE.NOERROR) {
        throw new UpdateError(`rfc2136: ${where} answered NOERROR without a TSIG signature; an unsigned success cannot be trusted, so the ${what} is treated as failed`, 'Unsigned');
      }
      break;
  }
  return { reply: exchange.reply, parsed: reply, overTcp: exchange.overTcp };
}

/** Sends `updates` for `zone` and resolves when the server has applied them (NOERROR, signature verified). */
export async function sendUpdate(updates: ResourceRecord[], options: UpdateOptions): Promise<UpdateResult> {
  const message = encodeUpdate(randomInt(0, 65536), options.zone, updates);
  const { parsed, overTcp } = await signedExchange(message, OPCODE_UPDATE, 'update', options);
  if (parsed.rcode !== RCODE.NOERROR) throw rcodeFailure(parsed.rcode, `${options.nameserver} (zone ${options.zone})`, options);
  return { overTcp };
}

export interface SoaAnswer {
  rcode: string;
  authoritative: boolean;
  /** The zone whose SOA came back (answer or authority section), absolute and lower-case. */
  zone?: string;
}

/**
 * A read-only SOA query for `name`, signed with the key when there is one: the server checks the signature
 * just as for an update (BADKEY/BADSIG/BADTIME throw), and its answer names the zone that holds `name`.
 */
export async function querySoaSigned(name: string, options: UpdateOptions): Promise<SoaAnswer> {
  const message = encodeQuery(randomInt(0, 65536), name, TYPE.SOA);
  const { reply, parsed } = await signedExchange(message, 0, 'SOA query', options);
  const decoded = dnsPacket.decode(reply);
  const soa = [...(decoded.answers ?? []), ...(decoded.authorities ?? [])].find((a) => a.type === 'SOA');
  const zone = soa ? `${soa.name.toLowerCase().replace(/\.$/, '')}.` : undefined;
  return { rcode: rcodeName(parsed.rcode), authoritative: decoded.flag_aa, ...(zone ? { zone } : {}) };
}

function tsigFailure(error: number, where: string, keyDesc: string, rcode: string): UpdateError {
  const code = `${rcode}/${tsigErrorName(error)}`;
  if (error === TSIG_ERROR.BADKEY) {
    return new UpdateError(
      `rfc2136: ${where} does not accept ${keyDesc} (${code}): tsigKeyName and tsigAlgorithm must match a key configured on the server, and (Knot answers BADKEY for this too) an update ACL of the zone must list the key`,
      code,
    );
  }
  if (error === TSIG_ERROR.BADSIG) {
    return new UpdateError(`rfc2136: ${where} rejected the signature of ${keyDesc} (${code}): the secret in tsigSecretSecretRef does not match the server's key (or tsigAlgorithm differs)`, code);
  }
  return new UpdateError(`rfc2136: ${where} rejected ${keyDesc} (${code})`, code);
}

function rcodeFailure(rcode: number, where: string, options: UpdateOptions): UpdateError {
  const name = rcodeName(rcode);
  const who = options.key ? `TSIG key "${options.key.name}"` : 'unsigned updates from this address';
  switch (rcode) {
    case RCODE.NOTAUTH:
      return new UpdateError(
        `rfc2136: ${where} answered NOTAUTH: the server is not authoritative for the zone, or (Knot) no update ACL of the zone allows ${who}`,
        name,
      );
    case RCODE.NOTZONE:
      return new UpdateError(`rfc2136: the record is outside zone ${options.zone} according to ${options.nameserver} (NOTZONE)`, name);
    case RCODE.REFUSED:
      return new UpdateError(
        `rfc2136: ${where} refused the update (REFUSED): allow updates of this zone for ${who} (BIND: allow-update or update-policy; Knot: an acl with action update)`,
        name,
      );
    case RCODE.SERVFAIL:
      return new UpdateError(`rfc2136: ${where} failed to apply the update (SERVFAIL)`, name, true);
    case RCODE.NOTIMP:
    case RCODE.FORMERR:
      return new UpdateError(`rfc2136: ${where} does not accept dynamic updates (${name})`, name);
    default:
      return new UpdateError(`rfc2136: ${where} rejected the update (${name})`, name);
  }
}
