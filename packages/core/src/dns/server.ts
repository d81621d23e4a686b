/**
 * A small authoritative DNS server (UDP and TCP on one port) over a DnsRecordSource: the in-memory solver's
 * store in dev mode, or a provider emulator in tests, so solvers are checked through real DNS queries the way
 * cert-manager checks propagation.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import dnsPacket, { type DecodedPacket, type Packet } from 'dns-packet';
import { answerQuery, RCODE, type ServableRecordSource } from './answer.js';

export interface DnsServerOptions {
  source: ServableRecordSource;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port; UDP and TCP get the same one). */
  port?: number;
  /** TTL of every record, default 30 s. */
  ttl?: number;
}

export interface DnsServer {
  host: string;
  port: number;
  /** `host:port` (`[::1]:port` for IPv6), the form `queryTxt`'s `server` option and the kit's `nameserver` take. */
  address: string;
  close(): Promise<void>;
}

const CLASSIC_UDP_LIMIT = 512;
/** Largest UDP answer we send even when a client advertises more (avoids IP fragmentation). */
const MAX_UDP_LIMIT = 4096;
const TCP_IDLE_MS = 10_000;

/** Decodes a query; answers FORMERR to junk that still has a header, drops what has not even that. */
function respond(message: Buffer, source: ServableRecordSource, ttl: number): { response: Packet; query?: DecodedPacket } | undefined {
  if (message.length < 12) return undefined;
  // Never answer a response: two servers could otherwise ping-pong forever.
  if ((message.readUInt16BE(2) & 0x8000) !== 0) return undefined;
  let query: DecodedPacket;
  try {
    query = dnsPacket.decode(message);
  } catch {
    return { response: { id: message.readUInt16BE(0), type: 'response', flags: RCODE.FORMERR } };
  }
  try {
    return { response: answerQuery(query, source, ttl), query };
  } catch {
    return { response: { id: query.id, type: 'response', questions: query.questions, flags: RCODE.SERVFAIL }, query };
  }
}

function ednsOf(query: DecodedPacket | undefined): { udpPayloadSize: number } | undefined {
  const opt = query?.additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
  return opt ? { udpPayloadSize: opt.udpPayloadSize ?? CLASSIC_UDP_LIMIT } : undefined;
}

/** An EDNS client gets an OPT back (RFC 6891 §7). */
function withEdns(response: Packet, query: DecodedPacket | undefined): Packet {
  if (!ednsOf(query)) return response;
  const opt = { type: 'OPT' as const, name: '.', udpPayloadSize: MAX_UDP_LIMIT, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
  return { ...response, additionals: [opt] };
}

/** An oversized UDP answer is cut to header + question with TC set: the client retries over TCP. */
function encodeUdp(response: Packet, query: DecodedPacket | undefined): Buffer {
  const edns = ednsOf(query);
  const withOpt = withEdns(response, query);
  const limit = edns ? Math.min(Math.max(edns.udpPayloadSize, CLASSIC_UDP_LIMIT), MAX_UDP_LIMIT) : CLASSIC_UDP_LIMIT;
  const full = dnsPacket.encode(withOpt);
  if (full.length <= limit) return full;
  return dnsPacket.encode({
    ...withOpt,
    flags: (withOpt.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
    answers: [],
    authorities: [],
  });
}

function encodeTcp(response: Packet, query: DecodedPacket | undefined): Buffer {
  const body = dnsPacket.encode(withEdns(response, query));
  const framed = Buffer.alloc(body.length + 2);
  framed.writeUInt16BE(body.length, 0);
  body.copy(framed, 2);
  return framed;
}

/** Several length-prefixed queries may arrive in one chunk, or one query across chunks. */
function serveTcpConnection(socket: Socket, source: ServableRecordSource, ttl: number): void {
  let buffered = Buffer.alloc(0);
  socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2) {
      const length = buffered.readUInt16BE(0);
      if (buffered.length < 2 + length) break;
      const message = buffered.subarray(2, 2 + length);
      buffered = buffered.subarray(2 + length);
      const result = respond(message, source, ttl);
      if (result) socket.write(encodeTcp(result.response, result.query));
    }
  });
}

function bindUdp(host: string, port: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

function listenTcp(host: string, port: number, source: ServableRecordSource, ttl: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => serveTcpConnection(socket, source, ttl));
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

const closeUdp = (socket: UdpSocket) => new Promise<void>((resolve) => socket.close(() => resolve()));

/** Binds UDP first (port 0 picks a free one), then TCP on the same port; retries when TCP's is taken. */
async function bindBoth(host: string, port: number, source: ServableRecordSource, ttl: number) {
  const attempts = port === 0 ? 20 : 1;
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    const udp = await bindUdp(host, port);
    const bound = udp.address().port;
    try {
      const tcp = await listenTcp(host, bound, source, ttl);
      return { udp, tcp, port: bound };
    } catch (err) {
      lastError = err;
      await closeUdp(udp);
    }
  }
  throw lastError;
}

export async function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const host = options.host ?? '127.0.0.1';
  const ttl = options.ttl ?? 30;
  const { source } = options;
  let bound: Awaited<ReturnType<typeof bindBoth>>;
  try {
    bound = await bindBoth(host, options.port ?? 0, source, ttl);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      `cannot start DNS server on ${host}:${options.port ?? 0}: ${code === 'EADDRINUSE' ? 'port already in use' : code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)' : (err as Error).message}`,
      { cause: err },
    );
  }
  const { udp, tcp, port } = bound;
  const connections = new Set<Socket>();
  tcp.on('connection', (socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
  });
  udp.on('message', (message, peer) => {
    const result = respond(message, source, ttl);
    if (result) udp.send(encodeUdp(result.response, result.query), peer.port, peer.address);
  });
  udp.on('error', () => undefined);

  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    address: isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`,
    close() {
      closing ??= (async () => {
        for (const socket of connections) socket.destroy();
        await Promise.all([closeUdp(udp), new Promise<void>((resolve) => tcp.close(() => resolve()))]);
      })();
      return closing;
    },
  };
}
