/**
 * OpenAPI documents for the one group/version this server serves, as k8s.io/apiserver serves them
 * (`/openapi/v2`, and `/openapi/v3` with one document per group-version).
 *
 * Why serve them: kube-aggregator downloads `/openapi/v2` of every APIService every minute. kube-apiserver
 * v1.37 does not treat a 404 there as "no spec": its log gets `loading OpenAPI spec for "v1alpha1.<group>"
 * failed with: ... resource not found` plus a rate-limited requeue, for ever (observed in the e2e tier, see
 * docs/server.md). A 404 on `/openapi/v3` is silent but makes it fall back to v2 each time.
 */
import { createHash } from 'node:crypto';
import { API_VERSION } from './discovery.js';
import { PAYLOAD_API_VERSION, PAYLOAD_KIND } from './payload.js';

const [PAYLOAD_GROUP, PAYLOAD_VERSION] = PAYLOAD_API_VERSION.split('/') as [string, string];
const GVK = { group: PAYLOAD_GROUP, version: PAYLOAD_VERSION, kind: PAYLOAD_KIND };
const DEF = 'io.cert-manager.acme.webhook.v1alpha1';
const PAYLOAD = `${DEF}.${PAYLOAD_KIND}`;

/** The ChallengePayload schemas, written once with a `$ref` prefix so v2 and v3 share them. */
function schemas(ref: (name: string) => string): Record<string, unknown> {
  const string = { type: 'string' };
  return {
    [PAYLOAD]: {
      description: 'A DNS-01 challenge to present or clean up (request), answered with its outcome (response).',
      type: 'object',
      properties: {
        apiVersion: { ...string, description: PAYLOAD_API_VERSION },
        kind: { ...string, description: PAYLOAD_KIND },
        request: { $ref: ref(`${DEF}.ChallengeRequest`) },
        response: { $ref: ref(`${DEF}.ChallengeResponse`) },
      },
      'x-kubernetes-group-version-kind': [GVK],
    },
    [`${DEF}.ChallengeRequest`]: {
      type: 'object',
      required: ['action', 'key', 'resolvedFQDN', 'resolvedZone', 'resourceNamespace'],
      properties: {
        uid: string,
        action: { type: 'string', enum: ['Present', 'CleanUp'] },
        type: string,
        dnsName: string,
        key: { ...string, description: 'The TXT value to present or remove.' },
        resourceNamespace: { ...string, description: 'Namespace secrets named in config are read from.' },
        resolvedFQDN: string,
        resolvedZone: string,
        allowAmbientCredentials: { type: 'boolean' },
        config: { type: 'object', description: "The Issuer's webhook.config, validated by the solver.", 'x-kubernetes-preserve-unknown-fields': true },
      },
    },
    [`${DEF}.ChallengeResponse`]: {
      type: 'object',
      required: ['uid', 'success'],
      properties: {
        uid: string,
        success: { type: 'boolean' },
        status: { type: 'object', properties: { status: string, message: string, reason: string, code: { type: 'integer', format: 'int32' } } },
      },
    },
  };
}

const operationId = (group: string, solver: string) => {
  const camel = (s: string) => s.replace(/(^|[^a-zA-Z0-9])([a-zA-Z0-9])/g, (_m, _sep, c: string) => c.toUpperCase());
  return `create${camel(group)}V1alpha1${camel(solver)}`;
};

const description = (solver: string) => `Present or clean up a DNS-01 challenge's TXT record with the ${solver} solver.`;

export function openApiV2(group: string, solverNames: string[]): Record<string, unknown> {
  const ref = (name: string) => `#/definitions/${name}`;
  const paths: Record<string, unknown> = {};
  for (const solver of solverNames) {
    paths[`/apis/${group}/${API_VERSION}/${solver}`] = {
      post: {
        description: description(solver),
        consumes: ['application/json'],
        produces: ['application/json'],
        schemes: ['https'],
        tags: [`${group.replace(/\./g, '_')}_${API_VERSION}`],
        operationId: operationId(group, solver),
        parameters: [{ name: 'body', in: 'body', required: true, schema: { $ref: ref(PAYLOAD) } }],
        responses: { '201': { description: 'Created', schema: { $ref: ref(PAYLOAD) } }, '401': { description: 'Unauthorized' } },
        'x-kubernetes-action': 'post',
        'x-kubernetes-group-version-kind': GVK,
      },
    };
  }
  return { swagger: '2.0', info: { title: 'dns01-webhook', version: API_VERSION }, paths, definitions: schemas(ref) };
}

export function openApiV3(group: string, solverNames: string[]): Record<string, unknown> {
  const ref = (name: string) => `#/components/schemas/${name}`;
  const json = { 'application/json': { schema: { $ref: ref(PAYLOAD) } } };
  const paths: Record<string, unknown> = {};
  for (const solver of solverNames) {
    paths[`/apis/${group}/${API_VERSION}/${solver}`] = {
      post: {
        description: description(solver),
        tags: [`${group.replace(/\./g, '_')}_${API_VERSION}`],
        operationId: operationId(group, solver),
        requestBody: { required: true, content: json },
        responses: { '201': { description: 'Created', content: json }, '401': { description: 'Unauthorized' } },
        'x-kubernetes-action': 'post',
        'x-kubernetes-group-version-kind': GVK,
      },
    };
  }
  return { openapi: '3.0.0', info: { title: 'dns01-webhook', version: API_VERSION }, paths, components: { schemas: schemas(ref) } };
}

export interface RenderedDocument {
  body: string;
  etag: string;
}

/** JSON text and a strong ETag (what the aggregator sends back in If-None-Match). */
export function render(document: unknown): RenderedDocument {
  const body = JSON.stringify(document);
  return { body, etag: `"${createHash('sha512').update(body).digest('hex').slice(0, 64).toUpperCase()}"` };
}

/** `/openapi/v3`: where the group-version's document is, with its hash (handler3.OpenAPIV3Discovery). */
export function openApiV3Discovery(group: string, hash: string): Record<string, unknown> {
  return { paths: { [`apis/${group}/${API_VERSION}`]: { serverRelativeURL: `/openapi/v3/apis/${group}/${API_VERSION}?hash=${hash}` } } };
}
