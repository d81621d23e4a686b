/**
 * A tiny, strict emulator of the made-up __SOLVER__ API (see src/client.ts), and an authoritative DNS server
 * (from @dns01-webhook/core) that serves its records — so the conformance kit checks real DNS answers.
 * TODO: when you switch src/client.ts to your provider, make this speak your provider's API (its paths, auth,
 * error codes and pagination), so the tests keep running without credentials.
 */
import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { startDnsServer, type DnsServer } from '@dns01-webhook/core';

export interface Emulator {
  endpoint: string;
  /** `host:port` of the DNS server answering for the emulator's zones. */
  nameserver: string;
  records: Map<string, Array<{ id: string; name: string; value: string }>>;
  close(): Promise<void>;
}

export async function startEmulator(options: { token: string; zones: string[] }): Promise<Emulator> {
  const records = new Map(options.zones.map((z) => [z.replace(/\.$/, ''), [] as Array<{ id: string; name: string; value: string }>]));
  const api: Server = createServer((req, res) => {
    const send = (status: number, body?: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(body === undefined ? undefined : JSON.stringify(body));
    if (req.headers.authorization !== `Bearer ${options.token}`) return send(401, { error: 'invalid token' });
    const url = new URL(req.url ?? '/', 'http://emulator');
    const m = /^\/zones\/([^/]+)\/txt(?:\/([^/]+))?$/.exec(url.pathname);
    const zone = m ? records.get(decodeURIComponent(m[1]!)) : undefined;
    if (!m || !zone) return send(404, { error: 'no such zone' });
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk));
    req.on('end', () => {
      if (req.method === 'GET' && !m[2]) {
        return send(200, zone.filter((r) => r.name === url.searchParams.get('name')).map(({ id, value }) => ({ id, value })));
      }
      if (req.method === 'POST' && !m[2]) {
        const { name, value } = JSON.parse(text) as { name?: string; value?: string };
        if (typeof name !== 'string' || typeof value !== 'string') return send(400, { error: 'name and value are required' });
        if (zone.some((r) => r.name === name && r.value === value)) return send(409, { error: 'record exists' });
        const id = randomUUID();
        zone.push({ id, name, value });
        return send(201, { id });
      }
      if (req.method === 'DELETE' && m[2]) {
        const i = zone.findIndex((r) => r.id === decodeURIComponent(m[2]!));
        if (i < 0) return send(404, { error: 'no such record' });
        zone.splice(i, 1);
        return send(204);
      }
      send(405, { error: 'method not allowed' });
    });
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', () => resolve()));
  const dns: DnsServer = await startDnsServer({
    source: {
      zones: () => [...records.keys()].map((z) => `${z}.`),
      txt: (fqdn) => [...records.values()].flat().filter((r) => r.name === fqdn).map((r) => r.value),
    },
  });
  return {
    endpoint: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
    nameserver: dns.address,
    records,
    async close() {
      await dns.close();
      api.closeAllConnections();
      await new Promise<void>((resolve) => api.close(() => resolve()));
    },
  };
}
