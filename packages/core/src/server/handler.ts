/**
 * The request handler of the aggregated API server: health probes, authentication/authorization
 * (delegated, see auth/types.ts), legacy discovery and the ChallengePayload endpoint per solver.
 * Every error is a Kubernetes Status; every 2xx on a solver path carries a `response` (cert-manager
 * dereferences it without a nil check).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authenticator, AuthorizationAttributes, Authorizer, UserInfo } from '../auth/types.js';
import { executeChallenge } from '../challenge/execute.js';
import { API_VERSION, apiGroup, apiGroupList, apiResourceList } from './discovery.js';
import { challengeResponse, parseChallengePayload } from './payload.js';
import { pathClass, routeOf, type Route } from './routes.js';
import { sendJson, sendStatus } from './status.js';
import type { WebhookServerOptions } from './webhook-server.js';

export interface HandlerOptions
  extends Pick<WebhookServerOptions, 'groupName' | 'registry' | 'secretsFor' | 'serviceAccountTokensFor' | 'log' | 'metrics'> {
  auth?: { authenticator: Authenticator; authorizer: Authorizer } | undefined;
  challengeTimeoutMs?: number | undefined;
  maxBodyBytes: number;
  /** False while auth config is not loaded yet or the server is draining. */
  isReady: () => boolean;
  /** True once shutdown began: answers carry `Connection: close` so keep-alive sockets drain. */
  isShuttingDown: () => boolean;
  /** Aborts every running challenge when the shutdown grace period runs out. */
  shutdownSignal: AbortSignal;
}

/** Kubernetes verbs for HTTP methods on a resource path. */
const RESOURCE_VERBS: Record<string, string> = { POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

function attributesFor(req: IncomingMessage, route: Route, pathname: string, group: string): AuthorizationAttributes {
  const method = req.method ?? 'GET';
  if (route.kind === 'solver') {
    return { kind: 'resource', verb: RESOURCE_VERBS[method] ?? method.toLowerCase(), group, version: API_VERSION, resource: route.solverName };
  }
  return { kind: 'nonResource', verb: method === 'HEAD' ? 'get' : method.toLowerCase(), path: pathname };
}

/** The message kube-apiserver writes for a denied request, so operators recognise it. */
function forbiddenMessage(user: UserInfo, attrs: AuthorizationAttributes, reason: string | undefined): string {
  const why = reason ? `: ${reason}` : '';
  if (attrs.kind === 'resource') {
    return `${attrs.resource}.${attrs.group} is forbidden: User "${user.username}" cannot ${attrs.verb} resource "${attrs.resource}" in API group "${attrs.group}" at the cluster scope${why}`;
  }
  return `forbidden: User "${user.username}" cannot ${attrs.verb} path "${attrs.path}"${why}`;
}

function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  return header.split(';')[0]!.trim().toLowerCase() === 'application/json';
}

type Body = { ok: true; text: string } | { ok: false; reason: 'tooLarge' | 'aborted' };

/** Reads at most `limit` bytes; `{ok:false}` as soon as the body is larger (declared or actual). */
function readBody(req: IncomingMessage, limit: number): Promise<Body> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve({ ok: false, reason: 'tooLarge' });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.off('end', onEnd);
        req.pause();
        resolve({ ok: false, reason: 'tooLarge' });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => resolve({ ok: true, text: Buffer.concat(chunks).toString('utf8') });
    req.on('data', onData);
    req.on('end', onEnd);
    // The client went away mid-body: nothing to answer (no-op if the body was complete).
    req.once('error', () => resolve({ ok: false, reason: 'aborted' }));
    req.once('close', () => resolve({ ok: false, reason: 'aborted' }));
  });
}

export function createRequestHandler(options: HandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { groupName, registry, metrics, log } = options;

  async function authorize(req: IncomingMessage, res: ServerResponse, route: Route, pathname: string): Promise<UserInfo | null | 'anonymous'> {
    if (!options.auth) return 'anonymous';
    let user: UserInfo | null;
    const attrs = attributesFor(req, route, pathname, groupName);
    try {
      user = await options.auth.authenticator.authenticate(req);
      if (user === null) {
        sendStatus(res, 401, 'Unauthorized');
        return null;
      }
      const decision = await options.auth.authorizer.authorize(user, attrs);
      if (!decision.allowed) {
        sendStatus(res, 403, forbiddenMessage(user, attrs, decision.reason));
        return null;
      }
      return user;
    } catch (err) {
      // Infrastructure failure (TokenReview/SubjectAccessReview unreachable): retryable for the caller.
      log.error({ err: (err as Error).message, path: pathname }, 'authentication/authorization failed');
      sendStatus(res, 503, `unable to authenticate or authorize the request: ${(err as Error).message}`);
      return null;
    }
  }

  async function handleSolver(req: IncomingMessage, res: ServerResponse, solverName: string): Promise<void> {
    const solver = registry.get(solverName);
    if (!solver) {
      const known = registry.names();
      sendStatus(res, 404, `the server could not find the requested resource: no solver "${solverName}" in ${groupName} (registered: ${known.length ? known.join(', ') : 'none'})`);
      return;
    }
    if (req.method !== 'POST') {
      sendStatus(res, 405, `method ${req.method} is not supported on ${solverName}.${groupName}: only create (POST) is`, { Allow: 'POST' });
      return;
    }
    if (!isJsonContentType(req.headers['content-type'])) {
      sendStatus(res, 415, `unsupported media type ${JSON.stringify(req.headers['content-type'] ?? '')}: send application/json`);
      return;
    }
    const body = await readBody(req, options.maxBodyBytes);
    if (!body.ok && body.reason === 'aborted') {
      res.destroy();
      return;
    }
    if (!body.ok) {
      // The rest of an oversized body is not worth reading: close the connection after answering.
      sendStatus(res, 413, `request body larger than ${options.maxBodyBytes} bytes`, { Connection: 'close' });
      return;
    }
    const parsed = parseChallengePayload(body.text);
    if (!parsed.ok) {
      metrics.challenges.inc({ solver: solverName, action: 'unknown', outcome: 'invalid' });
      sendStatus(res, 400, parsed.message);
      return;
    }

    // The challenge stops early when the client goes away or the shutdown grace runs out.
    const clientGone = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) clientGone.abort();
    };
    res.on('close', onClose);
    try {
      const outcome = await executeChallenge(solver, parsed.request, {
        secretsFor: options.secretsFor,
        serviceAccountTokensFor: options.serviceAccountTokensFor,
        log,
        metrics,
        timeoutMs: options.challengeTimeoutMs,
        signal: AbortSignal.any([clientGone.signal, options.shutdownSignal]),
      });
      if (res.destroyed) return;
      sendJson(res, 201, challengeResponse(parsed.body, parsed.request, outcome));
    } finally {
      res.off('close', onClose);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse, route: Route, pathname: string): Promise<void> {
    if (route.kind === 'health') {
      // Probes are never authenticated (kubelet has no credentials).
      const ok = route.check !== 'readyz' || options.isReady();
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache, private' });
      res.end(ok ? 'ok' : `${route.check} check failed: ${options.isShuttingDown() ? 'shutting down' : 'not ready'}`);
      return;
    }
    const user = await authorize(req, res, route, pathname);
    if (user === null) return;
    switch (route.kind) {
      case 'solver':
        return handleSolver(req, res, route.solverName);
      case 'discovery': {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          sendStatus(res, 405, `method ${req.method} is not supported on ${pathname}`, { Allow: 'GET' });
          return;
        }
        // An `apidiscovery.k8s.io/v2` Accept gets the legacy document too: the aggregator falls back to it.
        const doc =
          route.document === 'groupList' ? apiGroupList(groupName)
          : route.document === 'group' ? apiGroup(groupName)
          : apiResourceList(groupName, registry.names());
        sendJson(res, 200, doc);
        return;
      }
      case 'openapi':
      case 'unknown':
        sendStatus(res, 404, `the server could not find the requested resource (${req.method} ${pathname})`);
        return;
    }
  }

  return (req, res) => {
    const started = performance.now();
    let pathname = '/';
    try {
      pathname = new URL(req.url ?? '/', 'https://localhost').pathname;
    } catch {
      // keep '/': answered as unknown below
    }
    const route = routeOf(pathname, groupName);
    if (options.isShuttingDown()) res.setHeader('Connection', 'close');
    res.on('finish', () => {
      const code = res.statusCode;
      metrics.httpRequests.inc({ path: pathClass(route), code: String(code) });
      const line = { method: req.method, path: pathname, code, durationMs: Math.round(performance.now() - started) };
      if (code >= 500) log.error(line, 'request failed');
      else if (code >= 400 && route.kind !== 'health') log.info(line, 'request rejected');
      else log.debug(line, 'request');
    });
    handle(req, res, route, pathname).catch((err: unknown) => {
      log.error({ err: (err as Error)?.message, path: pathname }, 'unexpected error while handling a request');
      if (!res.headersSent && !res.destroyed) sendStatus(res, 500, 'internal error while handling the request; see the webhook log');
      else res.destroy();
    });
  };
}
