/**
 * A kept-alive connection that kube-apiserver closes (its idle timeout) just as the next request goes out: the
 * request never reached the server, so the kube client sends it once more on a new connection instead of
 * failing the challenge (or answering 503 to a SubjectAccessReview). Found by server-fuzz.test.ts.
 */
import { createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { loadKubeConnection } from '../src/kube/connection.js';
import { writeTokenKubeconfig } from '../src/testing/kube-stub.js';
import { selfSignedServing } from '../src/tls/certificates.js';

it('retries once on a new connection when a reused keep-alive connection is reset before any answer', async () => {
  const pair = await selfSignedServing(['localhost', '127.0.0.1']);
  const requestsOn = new Map<Socket, number>();
  let answered = 0;
  const server = createServer({ cert: pair.certPem, key: pair.keyPem }, (req, res) => {
    const n = (requestsOn.get(req.socket) ?? 0) + 1;
    requestsOn.set(req.socket, n);
    // The second request on a connection finds it gone, as when the idle timeout struck in between.
    if (n > 1) return void req.socket.destroy();
    answered++;
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ n: answered }));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = await mkdtemp(join(tmpdir(), 'kube-reuse-'));
  try {
    const kubeconfig = join(dir, 'kubeconfig');
    await writeTokenKubeconfig(kubeconfig, { server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, caPem: pair.certPem, token: 't' });
    const kube = loadKubeConnection(kubeconfig);
    expect(await kube.json('first', 'GET', '/x', { timeoutMs: 5_000 })).toEqual({ n: 1 });
    expect(await kube.json('second', 'POST', '/x', { body: {}, timeoutMs: 5_000 })).toEqual({ n: 2 });
    expect(requestsOn.size).toBe(2);
  } finally {
    server.closeAllConnections();
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
