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

function queryUdp(message: Buffer, host: string, port: number, accept: (p: DecodedPacket) => boolean, timeoutMs: number): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    const finish = (err: Error | undefined, packet?: DecodedPacket) => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(packet!);
    };
    const timer = setTimeout(() => finish(new Error(`no answer from ${host}:${port} over UDP within ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (err) => finish(err));
    socket.on('message', (buf) => {
      let packet: DecodedPacket;
      try {
        packet = dnsPacket.decode(buf);
      } catch {
        return; // junk: keep waiting for the real answer
      }
      // A reply with the wrong id or question is not ours (spoofing or a stale answer): ignore it.
      if (packet.type === 'response' && accept(packet)) finish(undefined, packet);
    });
    socket.send(message, port, host, (err) => err && finish(err));
  });
}

function queryTcp(message: Buffer, host: string, port: number, accept: (p: DecodedPacket) => boolean, timeoutMs: number): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let buffered = Buffer.alloc(0);
    const finish = (err: Error | undefined, packet?: DecodedPacket) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(packet!);
    };
    const timer = setTimeout(() => finish(new Error(`no answer from ${host}:${port} over TCP within ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (err) => finish(new Error(`TCP query to ${host}:${port} failed: ${err.message}`)));
    socket.on('connect', () => {
      const framed = Buffer.alloc(message.length + 2);
      framed.writeUInt16BE(message.length, 0);
      message.copy(framed, 2);
      socket.write(framed);
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const length = buffered.readUInt16BE(0);
        const body = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        try {
          const packet = dnsPacket.decode(body);
          if (packet.type === 'response' && accept(packet)) return finish(undefined, packet);
        } catch {
          return finish(new Error(`malformed DNS answer from ${host}:${port} over TCP`));
        }
      }
    });
    socket.on('close', () => finish(new Error(`${host}:${port} closed the TCP connection without an answer`)));
  });
}

/** One question to one server: UDP first, TCP when the answer is truncated (or when `tcp` is set). */
export async function dnsQuery(name: string, type: RecordType, options: QueryOptions): Promise<DnsResponse> {
  const { host, port } = parseServer(options.server);
  const timeoutMs = options.timeoutMs ?? 5000;
  const id = randomInt(0, 65536);
  const query: Packet = { type: 'query', id, flags: 0, questions: [{ type, name: name.replace(/\.$/, '') || '.', class: 'IN' }] };
  const message = dnsPacket.encode(query);
  const accept = (p: DecodedPacket) => p.id === id && sameQuestion(p, name, type);
  let packet = options.tcp ? undefined : await queryUdp(message, host, port, accept, timeoutMs);
  if (!packet || packet.flag_tc) packet = await queryTcp(message, host, port, accept, timeoutMs);
  return { rcode: rcodeName(packet.flags), authoritative: packet.flag_aa, truncated: packet.flag_tc, packet };
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
