/**
 * Serving certificate rotation the way the kubelet does it for a mounted Secret: new files in a fresh
 * `..<timestamp>` directory, then an atomic swap of the `..data` symlink. Under a steady mix of keep-alive
 * and new connections, no request may fail, and new connections must see the new certificate.
 */
import { Agent } from 'node:https';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../src/observability/logger.js';
import type { WebhookServer } from '../src/server/webhook-server.js';
import { createCA, issueCertificate, type KeyPairPem } from '../src/tls/certificates.js';
import { call, challengeBody, JSON_HEADERS } from './fixtures/https-client.js';
import { testWebhookServer } from './fixtures/webhook-server.js';

let dir: string;
let ca: KeyPairPem;
let server: WebhookServer;
let port: number;
let generation = 0;
const logLines: string[] = [];

/** Writes a new generation directory and swaps `..data` to it, removing the previous one (kubelet AtomicWriter). */
async function publish(pair: KeyPairPem): Promise<void> {
  generation += 1;
  const gen = `..gen_${generation}`;
  await mkdir(join(dir, gen));
  await writeFile(join(dir, gen, 'tls.crt'), pair.certPem);
  await writeFile(join(dir, gen, 'tls.key'), pair.keyPem);
  await symlink(gen, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  if (generation > 1) await rm(join(dir, `..gen_${generation - 1}`), { recursive: true, force: true });
}

const leaf = (cn: string) => issueCertificate(ca, { commonName: cn, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tls-reload-'));
  ca = await createCA('serving-ca');
  await publish(await leaf('gen-1'));
  await symlink('..data/tls.crt', join(dir, 'tls.crt'));
  await symlink('..data/tls.key', join(dir, 'tls.key'));
  server = testWebhookServer({
    log: createLogger({ level: 'info', destination: { write: (s: string) => void logLines.push(s) } }),
    // The slow poll is only the fallback; the swap must be noticed through the directory watch.
    tls: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), pollIntervalMs: 60_000 },
  });
  ({ port } = await server.listen());
});
afterAll(async () => {
  await server?.close(1000);
  await rm(dir, { recursive: true, force: true });
});

async function newConnectionCN(): Promise<string | undefined> {
  const res = await call({ port, ca: ca.certPem, path: '/healthz' });
  return res.peerCertificate.subject?.CN as string | undefined;
}

async function waitForCN(cn: string, timeoutMs = 5000): Promise<string | undefined> {
  const until = Date.now() + timeoutMs;
  let seen = await newConnectionCN();
  while (seen !== cn && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    seen = await newConnectionCN();
  }
  return seen;
}

it('reloads a rotated certificate under load without failing a request', async () => {
  expect(await newConnectionCN()).toBe('gen-1');
  const next = await leaf('gen-2');
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 2, ca: ca.certPem });
  const failures: string[] = [];
  let completed = 0;
  const stopAt = Date.now() + 2000;

  async function worker(reuse: boolean, n: number): Promise<void> {
    while (Date.now() < stopAt) {
      try {
        const res = n % 2 === 0
          ? await call({ port, ca: ca.certPem, agent: reuse ? keepAlive : false, path: '/apis/acme.example.com/v1alpha1/recorder', method: 'POST', headers: JSON_HEADERS, body: challengeBody({ uid: `w${n}-${completed}` }) })
          : await call({ port, ca: ca.certPem, agent: reuse ? keepAlive : false, path: '/apis/acme.example.com/v1alpha1' });
        const expected = n % 2 === 0 ? 201 : 200;
        if (res.status !== expected || (n % 2 === 0 && res.json?.response?.success !== true)) failures.push(`status ${res.status}: ${res.text}`);
        completed += 1;
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  }

  const load = Promise.all([worker(true, 0), worker(true, 1), worker(false, 2), worker(false, 3)]);
  await new Promise((r) => setTimeout(r, 600));
  await publish(next);
  const seen = await waitForCN('gen-2');
  await load;
  keepAlive.destroy();

  expect(failures).toEqual([]);
  expect(completed).toBeGreaterThan(40);
  expect(seen).toBe('gen-2');
  expect(logLines.some((l) => l.includes('serving certificate reloaded'))).toBe(true);
});

it('keeps the previous certificate when the new pair does not load, and takes the next good one', async () => {
  const good = await newConnectionCN();
  expect(good).toBe('gen-2');
  const a = await leaf('gen-3');
  const b = await leaf('gen-3-other-key');
  await publish({ certPem: a.certPem, keyPem: b.keyPem }); // key does not match the certificate
  const until = Date.now() + 5000;
  while (!logLines.some((l) => l.includes('does not load')) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  const warning = logLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'new serving certificate does not load; keeping the previous one');
  expect(warning).toMatchObject({ level: 'warn', err: expect.stringMatching(/key values mismatch/i) });
  expect(JSON.stringify(warning)).not.toContain('PRIVATE KEY');
  expect(await newConnectionCN()).toBe('gen-2');

  await publish(await leaf('gen-4'));
  expect(await waitForCN('gen-4')).toBe('gen-4');
});
