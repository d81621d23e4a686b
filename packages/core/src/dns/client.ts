/**
 * A minimal stub resolver for checking what one nameserver serves: UDP with TCP fallback on truncation,
 * random query ids, and answers matched to the question — the way cert-manager's propagation check asks.
 */
import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import { randomInt } from 'node:crypto';
import dnsPacket, { type DecodedPacket, type Packet, type RecordType } from 'dns-packet';
import { absolute, rcodeName } from './answer.js';

export interface QueryOptions {
  /** `host:port`, `[v6]:port`, or a bare host (port 53). */
  server: string;
  /** Per attempt (UDP, then TCP), default 5000 ms. */
  timeoutMs?: number;
  /** Skip UDP and ask over TCP. */
  tcp?: boolean;
  signal?: AbortSignal;
}

export interface TxtResult {
  /** `NOERROR`, `NXDOMAIN`, `REFUSED`, ... */
  rcode: string;
  /** One entry per TXT record, its character-strings joined (as cert-manager compares them with `key`). */
  values: string[];
  authoritative: boolean;
}

export interface SoaResult {
  rcode: string;
  authoritative: boolean;
  soa?: { zone: string; mname: string; rname: string; serial: number; minimum: number };
}

export interface DnsResponse {
  rcode: string;
  authoritative: boolean;
  truncated: boolean;
  packet: DecodedPacket;
}

/** `127.0.0.1:5353` → {host, port}; `[::1]:53`, `::1` and `ns.example` work too. */
export function parseServer(server: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(server);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] ? Number(bracketed[2]) : 53 };
  if (isIPv6(server)) return { host: server, port: 53 };
  const m = /^([^:]+)(?::(\d+))?$/.exec(server);
  if (!m) throw new Error(`invalid nameserver "${server}" (expected host:port)`);
  const port = m[2] ? Number(m[2]) : 53;
  if (port < 1 || port > 65535) throw new Error(`invalid port in nameserver "${server}"`);
  return { host: m[1]!, port };
}

function sameQuestion(packet: DecodedPacket, name: string, type: RecordType): boolean {
  const q = packet.questions?.[0];
  return packet.questions?.length === 1 && q !== undefined && q.type === type && absolute(q.name) === absolute(name);
}

export interface ExchangeOptions {
  /** `host:port`, `[v6]:port`, or a bare host (port 53). */
  server: string;
  /** Per attempt (UDP, then TCP), default 5000 ms. */
  timeoutMs?: number;
  /** Skip UDP and send over TCP. */
  tcp?: boolean;
  /** Abandons the exchange (both transports) when aborted. */
  signal?: AbortSignal;
}

export interface ExchangeResult {
  /** The raw reply `accept` took. */
  reply: Buffer;
  /** True when the reply came over TCP (asked for, or after a truncated UDP reply). */
  overTcp: boolean;
}

/** The TC bit of a raw DNS header. */
const truncated = (message: Buffer) => message.length >= 4 && (message[2]! & 0x02) !== 0;

/** Runs one socket exchange: `start` wires the socket and calls `finish` once; timeout and abort end it too. */
function exchangeOnce(
  label: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  start: (finish: (err: Error | undefined, reply?: Buffer) => void) => () => void,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let close = () => {};
    let done = false;
    const onAbort = () => finish(signal?.reason instanceof Error ? signal.reason : new Error(`${label}: aborted`));
    const finish = (err: Error | undefined, reply?: Buffer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      close();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => finish(new Error(`no answer from ${label} within ${timeoutMs} ms`)), timeoutMs);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    close = start(finish);
  });
}

function exchangeUdp(message: Buffer, host: string, port: number, accept: (reply: Buffer) => boolean, timeoutMs: number, signal?: AbortSignal): Promise<Buffer> {
  return exchangeOnce(`${host}:${port} over UDP`, timeoutMs, signal, (finish) => {
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    socket.on('error', (err) => finish(err));
    // A reply with the wrong id or question is not ours (spoofing or a stale answer): ignore it, keep waiting.
    socket.on('message', (buf) => accept(buf) && finish(undefined, buf));
    socket.send(message, port, host, (err) => err && finish(err));
    return () => socket.close();
  });
}

function exchangeTcp(message: Buffer, host: string, port: number, accept: (reply: Buffer) => boolean, timeoutMs: number, signal?: AbortSignal): Promise<Buffer> {
  return exchangeOnce(`${host}:${port} over TCP`, timeoutMs, signal, (finish) => {
    const socket = connect({ host, port });
    let buffered = Buffer.alloc(0);
    socket.on('error', (err) => finish(new Error(`TCP exchange with ${host}:${port} failed: ${err.message}`)));
    socket.on('connect', () => {
      const framed = Buffer.alloc(message.length + 2);
      framed.writeUInt16BE(message.length, 0);
      message.copy(framed, 2);
      socket.write(framed);
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const body = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + body.length);
        if (accept(body)) return finish(undefined, Buffer.from(body));
      }
    });
    socket.on('close', () => finish(new Error(`${host}:${port} closed the TCP connection without an answer`)));
    return () => socket.destroy();
  });
}

/**
 * Sends one DNS message (a query, an UPDATE, ...) and resolves the first reply that `accept` takes: over UDP,
 * then over TCP when that reply is truncated (or straight over TCP with `tcp`). `accept` sees raw bytes, so a
 * caller can check what a generic decoder cannot (TSIG, opcodes) and must reject replies that are not its own.
 */
export async function dnsExchange(message: Buffer, options: ExchangeOptions, accept: (reply: Buffer) => boolean): Promise<ExchangeResult> {
  const { host, port } = parseServer(options.server);
  const timeoutMs = options.timeoutMs ?? 5000;
  if (!options.tcp) {
    const reply = await exchangeUdp(message, host, port, accept, timeoutMs, options.signal);
    if (!truncated(reply)) return { reply, overTcp: false };
  }
  return { reply: await exchangeTcp(message, host, port, accept, timeoutMs, options.signal), overTcp: true };
}

/** One question to one server: UDP first, TCP when the answer is truncated (or when `tcp` is set). */
export async function dnsQuery(name: string, type: RecordType, options: QueryOptions): Promise<DnsResponse> {
  const id = randomInt(0, 65536);
  const query: Packet = { type: 'query', id, flags: 0, questions: [{ type, name: name.replace(/\.$/, '') || '.', class: 'IN' }] };
  let packet: DecodedPacket | undefined;
  const accept = (reply: Buffer) => {
    try {
      const decoded = dnsPacket.decode(reply);
      if (decoded.type !== 'response' || decoded.id !== id || !sameQuestion(decoded, name, type)) return false;
      packet = decoded;
      return true;
    } catch {
      return false; // junk: keep waiting for the real answer
    }
  };
  await dnsExchange(dnsPacket.encode(query), options, accept);
  const answer = packet!;
  return { rcode: rcodeName(answer.flags), authoritative: answer.flag_aa, truncated: answer.flag_tc, packet: answer };
}

export async function queryTxt(fqdn: string, options: QueryOptions): Promise<TxtResult> {
  const { rcode, authoritative, packet } = await dnsQuery(fqdn, 'TXT', options);
  const values = (packet.answers ?? [])
    .filter((a) => a.type === 'TXT' && absolute(a.name) === absolute(fqdn))
    .map((a) => {
      const data = (a as { data: Array<Buffer | string> | Buffer | string }).data;
      const parts = Array.isArray(data) ? data : [data];
      return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))).toString('utf8');
    });
  return { rcode, values, authoritative };
}

/** The SOA of `zone` (or, for a name inside a zone, the SOA the server puts in the authority section). */
export async function querySoa(name: string, options: QueryOptions): Promise<SoaResult> {
  const { rcode, authoritative, packet } = await dnsQuery(name, 'SOA', options);
  const record = [...(packet.answers ?? []), ...(packet.authorities ?? [])].find((a) => a.type === 'SOA') as
    | { name: string; data: { mname: string; rname: string; serial: number; minimum: number } }
    | undefined;
  if (!record) return { rcode, authoritative };
  const { mname, rname, serial, minimum } = record.data;
  return { rcode, authoritative, soa: { zone: absolute(record.name), mname: absolute(mname), rname: absolute(rname), serial, minimum } };
}

export interface ZoneWalkResult {
  /** The zone (SOA owner, absolute, lower-case), or undefined when no suffix has an SOA. */
  zone?: string;
  /** Each name asked and what came back, for messages. */
  steps: Array<{ name: string; rcode: string; soa?: string }>;
}

/**
 * The zone of `fqdn` the way cert-manager finds it (FindZoneByFqdn): ask for the SOA of the name, then of each
 * parent, and take the first NOERROR answer with an SOA record in the answer section. Any rcode other than
 * NOERROR/NXDOMAIN stops the walk with an error, as in cert-manager.
 */
export async function findZoneBySoa(fqdn: string, options: QueryOptions): Promise<ZoneWalkResult> {
  const labels = absolute(fqdn).replace(/\.$/, '').split('.');
  const steps: ZoneWalkResult['steps'] = [];
  for (let i = 0; i < labels.length; i++) {
    const name = `${labels.slice(i).join('.')}.`;
    const { rcode, packet } = await dnsQuery(name, 'SOA', options);
    if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') {
      throw new Error(`SOA query for ${name} to ${options.server} answered ${rcode}`);
    }
    const soa = rcode === 'NOERROR' ? (packet.answers ?? []).find((a) => a.type === 'SOA') : undefined;
    steps.push({ name, rcode, ...(soa ? { soa: absolute(soa.name) } : {}) });
    if (soa) return { zone: absolute(soa.name), steps };
  }
  return { steps };
}
