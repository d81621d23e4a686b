/**
 * Plain-HTTP `/metrics` listener for Prometheus, separate from the secure port so scraping needs neither
 * a client certificate nor RBAC (the usual layout of Kubernetes components).
 */
import { createServer, type Server } from 'node:http';
import type { Metrics } from '../observability/metrics.js';

export interface MetricsServer {
  listen(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
  readonly server: Server;
}

export function createMetricsServer(options: { metrics: Metrics; bindAddress?: string; port: number }): MetricsServer {
  const registry = options.metrics.registry;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found: metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`cannot collect metrics: ${(err as Error).message}\n`),
    );
  });
  server.keepAliveTimeout = 5_000;
  return {
    server,
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.bindAddress ?? '0.0.0.0', () => {
          server.off('error', reject);
          const a = server.address();
          if (a === null || typeof a === 'string') reject(new Error('metrics server has no TCP address'));
          else resolve({ address: a.address, port: a.port });
        });
      }),
    close: () =>
      new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
