/**
 * A Kubernetes API server stub for tests: HTTPS on 127.0.0.1 (its own CA), speaking enough of the real API
 * for @kubernetes/client-node — TokenReview, SubjectAccessReview, ConfigMap get/list/watch, Secret get,
 * ServiceAccount TokenRequest — with the errors a real server gives (401/403/404 `Status` objects, 400 on a
 * too-short token lifetime). Callers authenticate with a bearer token; the webhook's identity is written into
 * `kubeconfigPath`, and a small RBAC model decides what it may read. Every request is recorded, so tests can
 * assert what was (not) asked — e.g. that a SubjectAccessReview was answered from cache.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCA, issueCertificate } from '../tls/certificates.js';

export interface StubUser {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** The `spec` of a SubjectAccessReview as received. */
export interface StubAccessReview {
  user: string;
  uid?: string;
  groups: string[];
  extra: Record<string, string[]>;
  resourceAttributes?: { verb?: string; group?: string; version?: string; resource?: string; namespace?: string; name?: string };
  nonResourceAttributes?: { path?: string; verb?: string };
}

/** One row of a SubjectAccessReview table; unset fields match anything. First matching row wins; no match = deny. */
export interface StubAccessRule {
  user?: string;
  group?: string;
  verb?: string;
  apiGroup?: string;
  resource?: string;
  /** Non-resource path; a trailing `*` matches a prefix. */
  path?: string;
  allowed: boolean;
  reason?: string;
}

export type StubAuthorize =
  | StubAccessRule[]
  | ((review: StubAccessReview) => boolean | { allowed: boolean; reason?: string });

export interface KubeStubOptions {
  /** Bearer tokens TokenReview accepts: token → user. */
  tokens?: Record<string, StubUser>;
  /** SubjectAccessReview answers (default: deny everything). */
  authorize?: StubAuthorize;
  /** ConfigMaps present at start: `{ "<namespace>/<name>": data }`. */
  configMaps?: Record<string, Record<string, string>>;
  /** Secrets present at start, values in plain text: `{ "<namespace>": { "<name>": { "<key>": "value" } } }`. */
  secrets?: Record<string, Record<string, Record<string, string>>>;
  /** Namespaces in which the webhook's identity may `get` secrets (stub RBAC). Default: none. */
  secretNamespaces?: string[];
  /** May the webhook read kube-system/extension-apiserver-authentication? Default true. */
  canReadAuthConfig?: boolean;
  /** May the webhook create TokenReviews/SubjectAccessReviews (system:auth-delegator)? Default true. */
  authDelegator?: boolean;
  /** ServiceAccounts that exist (`"<namespace>/<name>"`); the webhook may create tokens for these. */
  serviceAccounts?: string[];
  /** The identity `kubeconfigPath` authenticates as. Default `system:serviceaccount:cert-manager:dns01-webhook`. */
  webhookUser?: string;
  /** `iss` of issued ServiceAccount tokens. Default `https://kubernetes.default.svc.cluster.local`. */
  serviceAccountIssuer?: string;
}

export type StubRequestKind = 'tokenreview' | 'subjectaccessreview' | 'configmap' | 'secret' | 'tokenrequest' | 'other';

export interface StubRequest {
  kind: StubRequestKind;
  method: string;
  path: string;
  query: Record<string, string>;
  /** Caller's username, undefined when unauthenticated. */
  user: string | undefined;
  /** Parsed JSON body of POSTs. */
  body: any;
  status: number;
  watch: boolean;
}

export interface IssuedToken {
  namespace: string;
  serviceAccount: string;
  audiences: string[];
  expirationSeconds: number;
  token: string;
}

export interface KubeStub {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  /** A kubeconfig (server, CA, the webhook's token) for `createKubeClient({ kubeconfig })`. */
  readonly kubeconfigPath: string;
  /** CA that issued the stub's serving certificate. */
  readonly caPem: string;
  readonly webhookUser: string;
  readonly webhookToken: string;
  readonly serviceAccountIssuer: string;
  /** Verifies ServiceAccount tokens the stub issued (ES256). */
  readonly serviceAccountPublicKeyPem: string;
  /** Everything received, in order. */
  readonly requests: StubRequest[];
  readonly issuedTokens: IssuedToken[];
  clearRequests(): void;
  /** Requests of one kind (watch connections excluded unless asked). */
  requestsOf(kind: StubRequestKind, options?: { includeWatches?: boolean }): StubRequest[];
  /** Creates/replaces (data) or deletes (null) a ConfigMap; open watches get the event. */
  setConfigMap(namespace: string, name: string, data: Record<string, string> | null): void;
  /** Shorthand for kube-system/extension-apiserver-authentication. */
  setAuthenticationConfig(data: Record<string, string> | null): void;
  setSecret(namespace: string, name: string, data: Record<string, string> | null): void;
  setToken(token: string, user: StubUser | null): void;
  setAuthorize(authorize: StubAuthorize): void;
  setSecretNamespaces(namespaces: string[]): void;
  /** Number of currently open watch connections. */
  openWatches(): number;
  close(): Promise<void>;
}

/** Builds the ConfigMap data kube-apiserver publishes, from PEM bundles and lists. */
export function authenticationConfigData(options: {
  clientCaPem?: string;
  requestheaderCaPem?: string;
  allowedNames?: string[];
  usernameHeaders?: string[];
  groupHeaders?: string[];
  extraHeadersPrefix?: string[];
}): Record<string, string> {
  const data: Record<string, string> = {};
  if (options.clientCaPem) data['client-ca-file'] = options.clientCaPem;
  if (options.requestheaderCaPem) {
    data['requestheader-client-ca-file'] = options.requestheaderCaPem;
    data['requestheader-allowed-names'] = JSON.stringify(options.allowedNames ?? []);
    data['requestheader-username-headers'] = JSON.stringify(options.usernameHeaders ?? ['X-Remote-User']);
    data['requestheader-group-headers'] = JSON.stringify(options.groupHeaders ?? ['X-Remote-Group']);
    data['requestheader-extra-headers-prefix'] = JSON.stringify(options.extraHeadersPrefix ?? ['X-Remote-Extra-']);
  }
  return data;
}

const AUTH_CM = 'kube-system/extension-apiserver-authentication';
const MIN_TOKEN_SECONDS = 600;

interface StoredObject {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: number;
  data: Record<string, string>;
}

interface ConfigMapEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: StoredObject;
}

interface OpenWatch {
  namespace: string;
  name: string | undefined;
  res: ServerResponse;
}

function statusBody(code: number, reason: string, message: string, details?: Record<string, unknown>) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function configMapJson(o: StoredObject) {
  return {
    kind: 'ConfigMap',
    apiVersion: 'v1',
    metadata: { name: o.name, namespace: o.namespace, uid: o.uid, resourceVersion: String(o.resourceVersion) },
    data: o.data,
  };
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function matchesRule(rule: StubAccessRule, review: StubAccessReview): boolean {
  if (rule.user !== undefined && rule.user !== review.user) return false;
  if (rule.group !== undefined && !review.groups.includes(rule.group)) return false;
  const ra = review.resourceAttributes;
  const nra = review.nonResourceAttributes;
  const verb = ra?.verb ?? nra?.verb;
  if (rule.verb !== undefined && rule.verb !== '*' && rule.verb !== verb) return false;
  if (rule.path !== undefined) {
    if (!nra?.path) return false;
    const ok = rule.path.endsWith('*') ? nra.path.startsWith(rule.path.slice(0, -1)) : nra.path === rule.path;
    if (!ok) return false;
  }
  if (rule.apiGroup !== undefined || rule.resource !== undefined) {
    if (!ra) return false;
    if (rule.apiGroup !== undefined && rule.apiGroup !== '*' && rule.apiGroup !== (ra.group ?? '')) return false;
    if (rule.resource !== undefined && rule.resource !== '*' && rule.resource !== ra.resource) return false;
  }
  return true;
}

/** Writes a kubeconfig that reaches `server` (trusting `caPem`) with a bearer token. */
export async function writeTokenKubeconfig(
  path: string,
  options: { server: string; caPem: string; token: string; namespace?: string },
): Promise<void> {
  const context = { cluster: 'stub', user: 'webhook', ...(options.namespace ? { namespace: options.namespace } : {}) };
  await writeFile(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'stub', cluster: { server: options.server, 'certificate-authority-data': Buffer.from(options.caPem).toString('base64') } }],
      users: [{ name: 'webhook', user: { token: options.token } }],
      contexts: [{ name: 'stub', context }],
      'current-context': 'stub',
    }),
    { mode: 0o600 },
  );
}

export async function startKubeStub(options: KubeStubOptions = {}): Promise<KubeStub> {
  const ca = await createCA('kube-stub-ca');
  const serving = await issueCertificate(ca, {
    commonName: 'kube-apiserver',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    usage: 'server',
  });
  const webhookUser = options.webhookUser ?? 'system:serviceaccount:cert-manager:dns01-webhook';
  const webhookToken = `stub-webhook-${randomBytes(16).toString('hex')}`;
  const issuer = options.serviceAccountIssuer ?? 'https://kubernetes.default.svc.cluster.local';
  const saKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const saKid = randomBytes(8).toString('hex');

  const tokens = new Map<string, StubUser>(Object.entries(options.tokens ?? {}));
  let authorize: StubAuthorize = options.authorize ?? [];
  let secretNamespaces = new Set(options.secretNamespaces ?? []);
  const canReadAuthConfig = options.canReadAuthConfig ?? true;
  const authDelegator = options.authDelegator ?? true;
  const serviceAccounts = new Set(options.serviceAccounts ?? []);
  const saUids = new Map<string, string>();

  let resourceVersion = 100;
  const configMaps = new Map<string, StoredObject>();
  const configMapHistory: ConfigMapEvent[] = [];
  const secrets = new Map<string, StoredObject>();
  const watches = new Set<OpenWatch>();
  const requests: StubRequest[] = [];
  const issuedTokens: IssuedToken[] = [];
  const issuedByToken = new Map<string, IssuedToken & { exp: number }>();

  const store = (map: Map<string, StoredObject>, namespace: string, name: string, data: Record<string, string> | null) => {
    const key = `${namespace}/${name}`;
    const prev = map.get(key);
    if (data === null) {
      if (!prev) return undefined;
      map.delete(key);
      const gone = { ...prev, resourceVersion: ++resourceVersion };
      return { type: 'DELETED' as const, object: gone };
    }
    const object: StoredObject = { namespace, name, uid: prev?.uid ?? randomUUID(), resourceVersion: ++resourceVersion, data: { ...data } };
    map.set(key, object);
    return { type: prev ? ('MODIFIED' as const) : ('ADDED' as const), object };
  };

  const writeEvent = (w: OpenWatch, event: ConfigMapEvent) => {
    w.res.write(`${JSON.stringify({ type: event.type, object: configMapJson(event.object) })}\n`);
  };
  const watchMatches = (w: OpenWatch, o: StoredObject) => w.namespace === o.namespace && (w.name === undefined || w.name === o.name);

  const setConfigMap = (namespace: string, name: string, data: Record<string, string> | null) => {
    const event = store(configMaps, namespace, name, data);
    if (!event) return;
    configMapHistory.push(event);
    for (const w of watches) if (watchMatches(w, event.object)) writeEvent(w, event);
  };
  for (const [ref, data] of Object.entries(options.configMaps ?? {})) {
    const [ns, name] = ref.split('/');
    if (!ns || !name) throw new Error(`configMaps key must be "<namespace>/<name>", got ${JSON.stringify(ref)}`);
    setConfigMap(ns, name, data);
  }
  const setSecret = (namespace: string, name: string, data: Record<string, string> | null) => {
    const encoded = data && Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
    store(secrets, namespace, name, encoded);
  };
  for (const [ns, byName] of Object.entries(options.secrets ?? {})) {
    for (const [name, data] of Object.entries(byName)) setSecret(ns, name, data);
  }

  function decide(review: StubAccessReview): { allowed: boolean; reason?: string } {
    if (typeof authorize === 'function') {
      const out = authorize(review);
      return typeof out === 'boolean' ? { allowed: out } : out;
    }
    const rule = authorize.find((r) => matchesRule(r, review));
    return rule ? { allowed: rule.allowed, ...(rule.reason ? { reason: rule.reason } : {}) } : { allowed: false };
  }

  function issueJwt(namespace: string, name: string, audiences: string[], expirationSeconds: number): { token: string; exp: number } {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + expirationSeconds;
    const uid = saUids.get(`${namespace}/${name}`) ?? randomUUID();
    saUids.set(`${namespace}/${name}`, uid);
    const header = base64url(JSON.stringify({ alg: 'ES256', kid: saKid, typ: 'JWT' }));
    const claims = base64url(
      JSON.stringify({
        aud: audiences,
        exp,
        iat: now,
        nbf: now,
        iss: issuer,
        sub: `system:serviceaccount:${namespace}:${name}`,
        'kubernetes.io': { namespace, serviceaccount: { name, uid } },
      }),
    );
    const signature = sign('sha256', Buffer.from(`${header}.${claims}`), { key: saKeys.privateKey, dsaEncoding: 'ieee-p1363' });
    return { token: `${header}.${claims}.${base64url(signature)}`, exp };
  }

  function forbidden(user: string, verb: string, resource: string, namespace: string | undefined, name?: string) {
    const where = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
    const group = resource.includes('.') ? resource.slice(resource.indexOf('.') + 1) : '';
    const plain = resource.includes('.') ? resource.slice(0, resource.indexOf('.')) : resource;
    const subject = name ? `${plain} "${name}"` : plain;
    return statusBody(
      403,
      'Forbidden',
      `${subject} is forbidden: User "${user}" cannot ${verb} resource "${plain}" in API group "${group}" ${where}`,
      { ...(name ? { name } : {}), kind: plain },
    );
  }

  async function readBody(req: IncomingMessage): Promise<any> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > 1 << 20) throw Object.assign(new Error('request body too large'), { status: 413 });
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (text === '') return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw Object.assign(new Error('invalid JSON body'), { status: 400 });
    }
  }

  function callerOf(req: IncomingMessage): string | undefined {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
    if (!match) return undefined;
    if (match[1] === webhookToken) return webhookUser;
    return tokens.get(match[1]!)?.username;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, record: StubRequest): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://stub');
    const method = req.method ?? 'GET';
    const caller = record.user;
    const reply = (code: number, body: unknown) => {
      record.status = code;
      send(res, code, body);
    };
    if (!caller) return reply(401, statusBody(401, 'Unauthorized', 'Unauthorized'));
    const isWebhook = caller === webhookUser;
    const body = method === 'POST' ? await readBody(req) : undefined;
    record.body = body;
    const p = url.pathname;
    let m: RegExpExecArray | null;

    const expectKind = (apiVersion: string, kind: string): boolean => {
      if (!body || typeof body !== 'object') {
        reply(400, statusBody(400, 'BadRequest', 'the body of the request was in an unknown format'));
        return false;
      }
      if ((body.kind !== undefined && body.kind !== kind) || (body.apiVersion !== undefined && body.apiVersion !== apiVersion)) {
        reply(400, statusBody(400, 'BadRequest', `the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersion}) or kind (${body.kind}) is not ${kind}`));
        return false;
      }
      return true;
    };

    if (method === 'POST' && p === '/apis/authentication.k8s.io/v1/tokenreviews') {
      record.kind = 'tokenreview';
      if (!isWebhook || !authDelegator) return reply(403, forbidden(caller, 'create', 'tokenreviews.authentication.k8s.io', undefined));
      if (!expectKind('authentication.k8s.io/v1', 'TokenReview')) return;
      const token = body.spec?.token;
      if (typeof token !== 'string' || token === '') {
        return reply(422, statusBody(422, 'Invalid', 'TokenReview.authentication.k8s.io "" is invalid: spec.token: Required value'));
      }
      const wanted: string[] = body.spec?.audiences ?? [];
      const user = tokens.get(token);
      const issued = issuedByToken.get(token);
      let status: Record<string, unknown> = { user: {}, error: 'invalid bearer token' };
      if (user) {
        status = { authenticated: true, user: { username: user.username, uid: user.uid, groups: user.groups ?? [], extra: user.extra }, audiences: wanted.length ? wanted : [issuer] };
      } else if (issued && issued.exp * 1000 > Date.now()) {
        const common = wanted.length ? issued.audiences.filter((a) => wanted.includes(a)) : issued.audiences;
        if (common.length > 0) {
          status = {
            authenticated: true,
            user: {
              username: `system:serviceaccount:${issued.namespace}:${issued.serviceAccount}`,
              uid: saUids.get(`${issued.namespace}/${issued.serviceAccount}`),
              groups: ['system:serviceaccounts', `system:serviceaccounts:${issued.namespace}`, 'system:authenticated'],
            },
            audiences: common,
          };
        } else {
          status = { user: {}, error: 'token audiences do not match' };
        }
      }
      return reply(201, { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: {}, spec: body.spec, status });
    }

    if (method === 'POST' && p === '/apis/authorization.k8s.io/v1/subjectaccessreviews') {
      record.kind = 'subjectaccessreview';
      if (!isWebhook || !authDelegator) return reply(403, forbidden(caller, 'create', 'subjectaccessreviews.authorization.k8s.io', undefined));
      if (!expectKind('authorization.k8s.io/v1', 'SubjectAccessReview')) return;
      const spec = body.spec ?? {};
      if (!spec.user && !(spec.groups?.length > 0)) {
        return reply(422, statusBody(422, 'Invalid', 'SubjectAccessReview.authorization.k8s.io "" is invalid: spec.user: Invalid value: "": at least one of user or group must be specified'));
      }
      if (!!spec.resourceAttributes === !!spec.nonResourceAttributes) {
        return reply(422, statusBody(422, 'Invalid', 'SubjectAccessReview.authorization.k8s.io "" is invalid: spec: Invalid value: exactly one of nonResourceAttributes or resourceAttributes must be specified'));
      }
      const review: StubAccessReview = {
        user: spec.user ?? '',
        ...(spec.uid ? { uid: spec.uid } : {}),
        groups: spec.groups ?? [],
        extra: spec.extra ?? {},
        ...(spec.resourceAttributes ? { resourceAttributes: spec.resourceAttributes } : {}),
        ...(spec.nonResourceAttributes ? { nonResourceAttributes: spec.nonResourceAttributes } : {}),
      };
      const decision = decide(review);
      return reply(201, {
        kind: 'SubjectAccessReview',
        apiVersion: 'authorization.k8s.io/v1',
        metadata: {},
        spec,
        status: { allowed: decision.allowed, ...(decision.reason ? { reason: decision.reason } : {}) },
      });
    }

    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps(?:\/([^/]+))?$/.exec(p))) {
      record.kind = 'configmap';
      if (method !== 'GET') return reply(405, statusBody(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
      const namespace = decodeURIComponent(m[1]!);
      const single = m[2] !== undefined ? decodeURIComponent(m[2]) : undefined;
      const selector = url.searchParams.get('fieldSelector') ?? '';
      const selected = /^metadata\.name=(.+)$/.exec(selector)?.[1];
      const target = single ?? selected;
      const verb = single ? 'get' : record.watch ? 'watch' : 'list';
      // Role extension-apiserver-authentication-reader: resourceNames-scoped, so list/watch need the field selector.
      const allowed = isWebhook && canReadAuthConfig && `${namespace}/${target}` === AUTH_CM;
      if (!allowed) return reply(403, forbidden(caller, verb, 'configmaps', namespace, single));
      if (single) {
        const o = configMaps.get(`${namespace}/${single}`);
        if (!o) return reply(404, statusBody(404, 'NotFound', `configmaps "${single}" not found`, { name: single, kind: 'configmaps' }));
        return reply(200, configMapJson(o));
      }
      if (!record.watch) {
        const items = [...configMaps.values()].filter((o) => o.namespace === namespace && (target === undefined || o.name === target));
        return reply(200, { kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: String(resourceVersion) }, items: items.map(configMapJson) });
      }
      record.status = 200;
      res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
      res.flushHeaders();
      const w: OpenWatch = { namespace, name: target, res };
      const from = url.searchParams.get('resourceVersion');
      if (from && from !== '0') {
        for (const event of configMapHistory) if (event.object.resourceVersion > Number(from) && watchMatches(w, event.object)) writeEvent(w, event);
      } else {
        for (const o of configMaps.values()) if (watchMatches(w, o)) writeEvent(w, { type: 'ADDED', object: o });
      }
      watches.add(w);
      res.on('close', () => watches.delete(w));
      return;
    }

    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(p))) {
      record.kind = 'secret';
      if (method !== 'GET') return reply(405, statusBody(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
      const namespace = decodeURIComponent(m[1]!);
      const name = decodeURIComponent(m[2]!);
      if (!isWebhook || !secretNamespaces.has(namespace)) return reply(403, forbidden(caller, 'get', 'secrets', namespace, name));
      const o = secrets.get(`${namespace}/${name}`);
      if (!o) return reply(404, statusBody(404, 'NotFound', `secrets "${name}" not found`, { name, kind: 'secrets' }));
      return reply(200, {
        kind: 'Secret',
        apiVersion: 'v1',
        metadata: { name, namespace, uid: o.uid, resourceVersion: String(o.resourceVersion) },
        type: 'Opaque',
        data: o.data,
      });
    }

    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)\/token$/.exec(p))) {
      record.kind = 'tokenrequest';
      if (method !== 'POST') return reply(405, statusBody(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
      const namespace = decodeURIComponent(m[1]!);
      const name = decodeURIComponent(m[2]!);
      if (!isWebhook) return reply(403, forbidden(caller, 'create', 'serviceaccounts', namespace, name));
      if (!serviceAccounts.has(`${namespace}/${name}`)) {
        return reply(404, statusBody(404, 'NotFound', `serviceaccounts "${name}" not found`, { name, kind: 'serviceaccounts' }));
      }
      if (!expectKind('authentication.k8s.io/v1', 'TokenRequest')) return;
      const audiences: string[] = body.spec?.audiences?.length ? body.spec.audiences : [issuer];
      const expirationSeconds: number = body.spec?.expirationSeconds ?? 3600;
      if (!Number.isInteger(expirationSeconds) || expirationSeconds < MIN_TOKEN_SECONDS) {
        return reply(
          422,
          statusBody(422, 'Invalid', `TokenRequest.authentication.k8s.io "${name}" is invalid: spec.expirationSeconds: Invalid value: ${expirationSeconds}: may not specify a duration less than 10 minutes`),
        );
      }
      const { token, exp } = issueJwt(namespace, name, audiences, expirationSeconds);
      const issued: IssuedToken = { namespace, serviceAccount: name, audiences, expirationSeconds, token };
      issuedTokens.push(issued);
      issuedByToken.set(token, { ...issued, exp });
      return reply(201, {
        kind: 'TokenRequest',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { name, namespace },
        spec: { audiences, expirationSeconds, boundObjectRef: null },
        status: { token, expirationTimestamp: new Date(exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') },
      });
    }

    return reply(404, statusBody(404, 'NotFound', 'the server could not find the requested resource'));
  }

  const server: Server = createServer({ key: serving.keyPem, cert: serving.certPem }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://stub');
    const record: StubRequest = {
      kind: 'other',
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      user: callerOf(req),
      body: undefined,
      status: 0,
      watch: url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1',
    };
    requests.push(record);
    handle(req, res, record).catch((err: Error & { status?: number }) => {
      const code = err.status ?? 500;
      record.status = code;
      if (!res.headersSent) send(res, code, statusBody(code, code === 500 ? 'InternalError' : 'BadRequest', err.message));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `https://127.0.0.1:${port}`;

  const dir = await mkdtemp(join(tmpdir(), 'kube-stub-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  await writeTokenKubeconfig(kubeconfigPath, { server: url, caPem: ca.certPem, token: webhookToken, namespace: 'cert-manager' });

  return {
    url,
    kubeconfigPath,
    caPem: ca.certPem,
    webhookUser,
    webhookToken,
    serviceAccountIssuer: issuer,
    serviceAccountPublicKeyPem: createPublicKey(saKeys.privateKey).export({ format: 'pem', type: 'spki' }).toString(),
    requests,
    issuedTokens,
    clearRequests: () => void requests.splice(0),
    requestsOf: (kind, opts = {}) => requests.filter((r) => r.kind === kind && (opts.includeWatches || !r.watch)),
    setConfigMap,
    setAuthenticationConfig: (data) => setConfigMap('kube-system', 'extension-apiserver-authentication', data),
    setSecret,
    setToken(token, user) {
      if (user) tokens.set(token, user);
      else tokens.delete(token);
    },
    setAuthorize(next) {
      authorize = next;
    },
    setSecretNamespaces(namespaces) {
      secretNamespaces = new Set(namespaces);
    },
    openWatches: () => watches.size,
    async close() {
      for (const w of watches) w.res.end();
      watches.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
