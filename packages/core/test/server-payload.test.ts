/** The challenge endpoint, discovery and health over real HTTPS, authentication off (dev-mode layout). */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { WebhookServer } from '../src/server/webhook-server.js';
import { Metrics } from '../src/observability/metrics.js';
import { createCA, issueCertificate } from '../src/tls/certificates.js';
import { call, challengeBody, JSON_HEADERS } from './fixtures/https-client.js';
import { calls } from './fixtures/test-solvers.js';
import { testWebhookServer } from './fixtures/webhook-server.js';

const GROUP = 'acme.example.com';
const SOLVER_PATH = `/apis/${GROUP}/v1alpha1/recorder`;
let server: WebhookServer;
let port: number;
let ca: string;
const metrics = new Metrics();

beforeAll(async () => {
  const authority = await createCA('payload-test-ca');
  ca = authority.certPem;
  const serving = await issueCertificate(authority, { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
  server = testWebhookServer({ metrics, tls: serving, maxBodyBytes: 4096 });
  ({ port } = await server.listen());
});
afterAll(async () => server.close(1000));
beforeEach(() => {
  calls.length = 0;
});

const post = (body: string | undefined, headers: Record<string, string> = JSON_HEADERS, path = SOLVER_PATH) =>
  call({ port, ca, path, method: 'POST', headers, body });

function expectStatus(res: { status: number; json: any; headers: Record<string, unknown> }, code: number, reason: string, message: RegExp) {
  expect(res.status).toBe(code);
  expect(res.headers['content-type']).toBe('application/json');
  expect(res.json).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: expect.stringMatching(message), reason, code });
}

describe('POST /apis/<group>/v1alpha1/<solver>', () => {
  it('answers 201 with the payload echoed, typed, and a success response', async () => {
    const res = await post(challengeBody({ uid: 'abc-123', config: { zoneId: 'Z1' } }));
    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json).toEqual({
      apiVersion: 'webhook.acme.cert-manager.io/v1alpha1',
      kind: 'ChallengePayload',
      request: {
        uid: 'abc-123', action: 'Present', type: 'dns-01', dnsName: 'example.com', key: 'dGVzdC1rZXktdmFsdWU',
        resourceNamespace: 'cert-manager', resolvedFQDN: '_acme-challenge.example.com.', resolvedZone: 'example.com.',
        allowAmbientCredentials: false, config: { zoneId: 'Z1' },
      },
      response: { uid: 'abc-123', success: true },
    });
    expect(calls).toEqual([{ action: 'Present', fqdn: '_acme-challenge.example.com.', key: 'dGVzdC1rZXktdmFsdWU' }]);
  });

  it('runs CleanUp, keeps an empty uid, and accepts the explicit apiVersion/kind and a charset parameter', async () => {
    const res = await post(
      challengeBody({ action: 'CleanUp', config: undefined }, { apiVersion: 'webhook.acme.cert-manager.io/v1alpha1', kind: 'ChallengePayload' }),
      { 'Content-Type': 'application/json; charset=utf-8' },
    );
    expect(res.status).toBe(201);
    expect(res.json.response).toEqual({ uid: '', success: true });
    expect(calls).toEqual([{ action: 'CleanUp', fqdn: '_acme-challenge.example.com.', key: 'dGVzdC1rZXktdmFsdWU' }]);
  });

  it('accepts a UTF-8 body that starts with a byte order mark', async () => {
    const res = await post(`\ufeff${challengeBody({ action: 'CleanUp' })}`);
    expect(res.status).toBe(201);
    expect(res.json.response.success).toBe(true);
  });

  it('reports a solver failure as 201 with success:false and status Failed', async () => {
    const res = await post(challengeBody({ uid: 'u1', config: { delayMs: 'soon' } }), JSON_HEADERS, `/apis/${GROUP}/v1alpha1/slow`);
    expect(res.status).toBe(201);
    expect(res.json.response).toEqual({
      uid: 'u1',
      success: false,
      status: { status: 'Failed', message: expect.stringMatching(/^slow: Present _acme-challenge\.example\.com\. failed: invalid config: config\.delayMs/) },
    });
  });

  it('rejects another apiVersion or kind with 400', async () => {
    expectStatus(await post(challengeBody({}, { apiVersion: 'v1' })), 400, 'BadRequest', /unsupported apiVersion "v1"/);
    expectStatus(await post(challengeBody({}, { apiVersion: 'webhook.acme.cert-manager.io/v1alpha1', kind: 'Pod' })), 400, 'BadRequest', /unsupported kind "Pod"/);
    expect(calls).toEqual([]);
  });

  it('rejects malformed JSON, an empty body, a missing request and a non-object with 400', async () => {
    expectStatus(await post('{"request":'), 400, 'BadRequest', /not valid JSON/);
    expectStatus(await post(''), 400, 'BadRequest', /empty request body/);
    expectStatus(await post('{}'), 400, 'BadRequest', /no "request"/);
    expectStatus(await post('{"request":null}'), 400, 'BadRequest', /no "request"/);
    expectStatus(await post('[1]'), 400, 'BadRequest', /must be a JSON object/);
    expectStatus(await post('{"request":"x"}'), 400, 'BadRequest', /"request" must be a JSON object/);
  });

  it('rejects an unknown action and names each missing required field', async () => {
    expectStatus(await post(challengeBody({ action: 'Delete' })), 400, 'BadRequest', /request\.action must be "Present" or "CleanUp", got "Delete"/);
    for (const field of ['key', 'resolvedFQDN', 'resolvedZone', 'resourceNamespace', 'action']) {
      expectStatus(await post(challengeBody({ [field]: undefined })), 400, 'BadRequest', new RegExp(`request\\.${field} is required`));
    }
    expectStatus(await post(challengeBody({ key: '' })), 400, 'BadRequest', /request\.key must not be empty/);
    expectStatus(await post(challengeBody({ allowAmbientCredentials: 'yes' })), 400, 'BadRequest', /request\.allowAmbientCredentials must be a boolean, got string/);
    expect(calls).toEqual([]);
  });

  it('answers 404 for an unknown solver, naming the registered ones', async () => {
    expectStatus(await post(challengeBody(), JSON_HEADERS, `/apis/${GROUP}/v1alpha1/nope`), 404, 'NotFound', /no solver "nope".*registered: leaky, recorder, slow/);
    expectStatus(await post(challengeBody(), JSON_HEADERS, `/apis/other.group/v1alpha1/recorder`), 404, 'NotFound', /could not find/);
    expectStatus(await post(challengeBody(), JSON_HEADERS, `${SOLVER_PATH}/extra`), 404, 'NotFound', /could not find/);
  });

  it('answers 413 for an oversized body (declared or streamed), 415 for another media type, 405 for GET/PUT', async () => {
    const big = challengeBody({ config: { pad: 'x'.repeat(5000) } });
    expectStatus(await post(big), 413, 'RequestEntityTooLarge', /larger than 4096 bytes/);
    // Chunked (no Content-Length): the limit applies while reading.
    const chunked = await call({ port, ca, path: SOLVER_PATH, method: 'POST', headers: { ...JSON_HEADERS, 'Transfer-Encoding': 'chunked' }, body: big });
    expectStatus(chunked, 413, 'RequestEntityTooLarge', /larger than 4096 bytes/);
    expectStatus(await post(challengeBody(), { 'Content-Type': 'text/plain' }), 415, 'UnsupportedMediaType', /text\/plain/);
    expectStatus(await post(challengeBody(), { 'Content-Type': 'application/yaml' }), 415, 'UnsupportedMediaType', /application\/yaml/);
    expectStatus(await post(challengeBody(), { 'Content-Type': 'json' }), 415, 'UnsupportedMediaType', /send application\/json/);
    const get = await call({ port, ca, path: SOLVER_PATH });
    expectStatus(get, 405, 'MethodNotAllowed', /only create/);
    expect(get.headers.allow).toBe('POST');
    expectStatus(await call({ port, ca, path: SOLVER_PATH, method: 'PUT', headers: JSON_HEADERS, body: challengeBody() }), 405, 'MethodNotAllowed', /PUT/);
    expect(calls).toEqual([]);
  });
});

describe('discovery', () => {
  const groupVersion = { groupVersion: `${GROUP}/v1alpha1`, version: 'v1alpha1' };

  it('serves APIGroupList at /apis, also for an aggregated-discovery (v2) Accept', async () => {
    const expected = { kind: 'APIGroupList', apiVersion: 'v1', groups: [{ name: GROUP, versions: [groupVersion], preferredVersion: groupVersion }] };
    for (const path of ['/apis', '/apis/']) {
      const res = await call({ port, ca, path });
      expect(res.status).toBe(200);
      expect(res.json).toEqual(expected);
    }
    const v2 = await call({ port, ca, path: '/apis', headers: { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' } });
    expect(v2.status).toBe(200);
    expect(v2.headers['content-type']).toBe('application/json');
    expect(v2.json).toEqual(expected);
  });

  it('serves APIGroup and APIResourceList with one create-only resource per solver', async () => {
    const group = await call({ port, ca, path: `/apis/${GROUP}` });
    expect(group.json).toEqual({ kind: 'APIGroup', apiVersion: 'v1', name: GROUP, versions: [groupVersion], preferredVersion: groupVersion });
    const list = await call({ port, ca, path: `/apis/${GROUP}/v1alpha1` });
    expect(list.status).toBe(200);
    const resource = (name: string) => ({
      name, singularName: 'ChallengePayload', namespaced: false, group: 'webhook.acme.cert-manager.io', version: 'v1alpha1', kind: 'ChallengePayload', verbs: ['create'],
    });
    expect(list.json).toEqual({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${GROUP}/v1alpha1`, resources: ['leaky', 'recorder', 'slow'].map(resource) });
    expectStatus(await call({ port, ca, path: `/apis/${GROUP}/v1alpha1`, method: 'POST', headers: JSON_HEADERS, body: '{}' }), 405, 'MethodNotAllowed', /POST/);
  });

  it('serves OpenAPI v2 and v3 as an aggregated server does, with an ETag the aggregator can send back', async () => {
    const v2 = await call({ port, ca, path: '/openapi/v2', headers: { Accept: 'application/json' } });
    expect(v2.status).toBe(200);
    expect(v2.json).toMatchObject({ swagger: '2.0', info: { title: 'dns01-webhook' } });
    expect(Object.keys(v2.json.paths)).toEqual(['leaky', 'recorder', 'slow'].map((s) => `/apis/${GROUP}/v1alpha1/${s}`));
    const post = v2.json.paths[SOLVER_PATH].post;
    expect(post).toMatchObject({ 'x-kubernetes-action': 'post', 'x-kubernetes-group-version-kind': { group: 'webhook.acme.cert-manager.io', version: 'v1alpha1', kind: 'ChallengePayload' } });
    const payloadRef = post.parameters[0].schema.$ref.replace('#/definitions/', '');
    expect(v2.json.definitions[payloadRef].properties.request.$ref).toMatch(/ChallengeRequest$/);
    const notModified = await call({ port, ca, path: '/openapi/v2', headers: { 'If-None-Match': String(v2.headers.etag) } });
    expect(notModified.status).toBe(304);

    const root = await call({ port, ca, path: '/openapi/v3' });
    expect(root.status).toBe(200);
    const url = root.json.paths[`apis/${GROUP}/v1alpha1`].serverRelativeURL as string;
    expect(url).toMatch(new RegExp(`^/openapi/v3/apis/${GROUP.replace(/\./g, '\\.')}/v1alpha1\\?hash=[0-9A-F]{64}$`));
    const v3 = await call({ port, ca, path: url });
    expect(v3.status).toBe(200);
    expect(v3.json).toMatchObject({ openapi: '3.0.0' });
    expect(v3.json.paths[SOLVER_PATH].post.requestBody.content['application/json'].schema.$ref).toMatch(/^#\/components\/schemas\/.*ChallengePayload$/);
    expect(`"${url.split('hash=')[1]}"`).toBe(v3.headers.etag);
  });

  it('answers 404 Status for other openapi paths, other versions and unknown paths', async () => {
    for (const path of ['/openapi', '/openapi/v1', `/openapi/v3/apis/other.group/v1alpha1`, `/apis/${GROUP}/v1beta1`, '/api', '/', '/metrics', '/apis/other.group']) {
      expectStatus(await call({ port, ca, path }), 404, 'NotFound', /could not find the requested resource/);
    }
  });
});

describe('health and metrics', () => {
  it('serves /healthz, /livez and /readyz', async () => {
    for (const path of ['/healthz', '/livez', '/readyz']) {
      const res = await call({ port, ca, path });
      expect(res.status).toBe(200);
      expect(res.text).toBe('ok');
    }
  });

  it('counts requests by path class and code', async () => {
    await call({ port, ca, path: '/healthz' });
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/dns01_webhook_http_requests_total\{path="health",code="200"\} [1-9]/);
    expect(text).toMatch(/dns01_webhook_http_requests_total\{path="solver",code="201"\} [1-9]/);
    expect(text).toMatch(/dns01_webhook_http_requests_total\{path="solver",code="400"\} [1-9]/);
    expect(text).toMatch(/dns01_webhook_http_requests_total\{path="other",code="404"\} [1-9]/);
  });
});
