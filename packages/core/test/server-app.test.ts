/**
 * `createWebhookApp` from `@dns01-webhook/core/server` mounted into an embedder's own express server,
 * and the routing rules of the app (exact, case-sensitive paths; the solver segment decoded once).
 */
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import express from 'express';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createWebhookApp } from '@dns01-webhook/core/server';
import { Metrics, mapSecrets, silentLogger } from '@dns01-webhook/core';
import { challengeBody } from './fixtures/https-client.js';
import { calls, testRegistry } from './fixtures/test-solvers.js';

const GROUP = 'acme.example.com';
let server: Server;
let base: string;

beforeAll(async () => {
  const outer = express();
  outer.get('/embedder/own-route', (_req, res) => {
    res.json({ mine: true });
  });
  outer.use(
    createWebhookApp({
      groupName: GROUP,
      registry: testRegistry(),
      secretsFor: mapSecrets({}),
      log: silentLogger(),
      metrics: new Metrics(),
      auth: false,
    }),
  );
  server = createServer(outer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  calls.length = 0;
});

const post = (path: string, body = challengeBody()) => fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });

describe('createWebhookApp mounted into an embedder express app', () => {
  it('serves challenges, discovery and health next to the embedder routes', async () => {
    const res = await post(`/apis/${GROUP}/v1alpha1/recorder`);
    expect(res.status).toBe(201);
    expect(((await res.json()) as { response: unknown }).response).toEqual({ uid: '', success: true });
    expect(calls).toEqual([{ action: 'Present', fqdn: '_acme-challenge.example.com.', key: 'dGVzdC1rZXktdmFsdWU' }]);
    expect(await (await fetch(`${base}/apis/${GROUP}/v1alpha1`)).json()).toMatchObject({ kind: 'APIResourceList' });
    expect(await (await fetch(`${base}/readyz`)).text()).toBe('ok');
    expect(await (await fetch(`${base}/embedder/own-route`)).json()).toEqual({ mine: true });
  });

  it('matches paths exactly: case-sensitive, the group never decoded, the solver decoded once', async () => {
    expect((await post(`/APIS/${GROUP}/v1alpha1/recorder`)).status).toBe(404);
    expect((await post(`/apis/${GROUP.toUpperCase()}/v1alpha1/recorder`)).status).toBe(404);
    expect((await post(`/apis/acme%2Eexample.com/v1alpha1/recorder`)).status).toBe(404);
    expect((await post(`/apis/${GROUP}/v1alpha1/rec%6Frder`)).status).toBe(201);
    const bad = await post(`/apis/${GROUP}/v1alpha1/%E0%A4%A`);
    expect(bad.status).toBe(404);
    expect(await bad.json()).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });
    // `/apis/` and `/apis` are the same document for Kubernetes clients, and so is a solver path with a slash.
    expect((await fetch(`${base}/apis/`)).status).toBe(200);
    expect((await post(`/apis/${GROUP}/v1alpha1/recorder/`)).status).toBe(201);
    expect(calls).toHaveLength(2);
  });
});
