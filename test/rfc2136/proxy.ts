/**
 * A man in the middle between the solver and a real server, for what a healthy server never does on its own:
 * `truncate-udp` answers every UDP update with an empty TC reply (a middlebox that cannot carry the answer),
 * `tamper` flips a header bit in the server's signed UDP reply, `strip-tsig` removes its TSIG record.
 * TCP is forwarded untouched, so a client that falls back to TCP reaches the real server.
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { connect, createServer, type AddressInfo } from 'node:net';
import { parseServer } from '@dns01-webhook/core';
import { parseMessage } from '../../packages/solver-rfc2136/src/wire.js';

export type ProxyMode = 'truncate-udp' | 'tamper' | 'strip-tsig';

export interface DnsProxy {
  address: string;
  /** Messages seen per transport. */
  seen: { udp: number; tcp: number };
  close(): Promise<void>;
}

function rewrite(reply: Buffer, mode: ProxyMode): Buffer {
  const out = Buffer.from(reply);
  if (mode === 'tamper') {
    out[3] = out[3]! ^ 0x80; // RA bit: harmless to a parser, fatal to a MAC
    return out;
  }
  const tsig = parseMessage(out).lastAdditional;
  if (!tsig) return out;
  const stripped = Buffer.from(out.subarray(0, tsig.offset));
  stripped.writeUInt16BE(out.readUInt16BE(10) - 1, 10);
  return stripped;
}

export async function startDnsProxy(target: string, mode: ProxyMode, host = '127.0.0.1'): Promise<DnsProxy> {
  const upstream = parseServer(target);
  const seen = { udp: 0, tcp: 0 };
  const tcp = createServer((client) => {
    seen.tcp++;
    const server = connect({ host: upstream.host, port: upstream.port });
    client.pipe(server).pipe(client);
    const end = () => {
      client.destroy();
      server.destroy();
    };
    client.on('error', end);
    server.on('error', end);
  });
  await new Promise<void>((resolve) => tcp.listen(0, host, () => resolve()));
  const port = (tcp.address() as AddressInfo).port;
  const udp = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, host, () => resolve());
  });
  udp.on('message', (query: Buffer, client: RemoteInfo) => {
    seen.udp++;
    if (mode === 'truncate-udp') {
      const header = Buffer.alloc(12);
      query.copy(header, 0, 0, 2);
      header.writeUInt16BE((query.readUInt16BE(2) & 0x7800) | 0x8000 | 0x0200, 2); // QR, same opcode, TC
      udp.send(header, client.port, client.address);
      return;
    }
    const out = createSocket('udp4');
    out.on('message', (reply) => {
      udp.send(rewrite(reply, mode), client.port, client.address);
      out.close();
    });
    out.send(query, upstream.port, upstream.host);
  });
  return {
    address: `${host}:${port}`,
    seen,
    close: async () => {
      udp.close();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}
