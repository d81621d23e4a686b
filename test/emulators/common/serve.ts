/**
 * Starts an emulator's two faces: its provider API (an http.Server already wired to the provider handler) and
 * its authoritative DNS server over the emulator's records. Both are closed together.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startDnsServer, type ServableRecordSource } from '@dns01-webhook/core';
import type { RunningEmulator } from './control.js';

export interface ServeOptions {
  host: string;
  port?: number | undefined;
  dnsPort?: number | undefined;
  source: ServableRecordSource;
  /** Appended to the API URL, e.g. `/client/v4`. */
  basePath?: string;
}

export async function serveEmulator(server: Server, options: ServeOptions): Promise<Omit<RunningEmulator, 'control'>> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const closeApi = () => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  let dns: Awaited<ReturnType<typeof startDnsServer>>;
  try {
    dns = await startDnsServer({ source: options.source, host: options.host, port: options.dnsPort ?? 0 });
  } catch (err) {
    await closeApi();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const urlHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${urlHost}:${port}${options.basePath ?? ''}`,
    dns: { host: dns.host, port: dns.port, address: dns.address },
    async close() {
      await Promise.all([closeApi(), dns.close()]);
    },
  };
}
