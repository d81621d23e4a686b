/**
 * The webhook as an express 5 application: health probes, delegated authentication/authorization, legacy
 * discovery and one ChallengePayload endpoint per solver. Every error is a Kubernetes Status; every 2xx on a
 * solver path carries a `response` (cert-manager dereferences it without a nil check).
 *
 * TLS and client certificates are not the app's business: `createWebhookServer` runs it on its own HTTPS
 * server, and an embedder can mount it into theirs (docs/server.md, "Embedding").
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Authenticator, AuthorizationAttributes, Authorizer, UserInfo } from '../auth/types.js';
import { executeChallenge } from '../challenge/execute.js';
import type { Economy } from '../economy/economy.js';
import type { Metrics } from '../observability/metrics.js';
import type { Logger, SecretReader, ServiceAccountTokenSource, Solver } from '../solver/contract.js';
import type { SolverRegistry } from '../solver/registry.js';
import { assertJsonContentType, ClientAbortedError, readBodyText } from './body.js';
import { API_VERSION, apiGroup, apiGroupList, apiResourceList } from './discovery.js';
import { openApiV2, openApiV3, openApiV3Discovery, render, type RenderedDocument } from './openapi.js';
import { challengeResponse, parseChallengePayload } from './payload.js';
import { endsExchange, sendJson, sendStatus, StatusError } from './status.js';

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Requests handled at once (probes not counted); more get 429 + Retry-After, like kube-apiserver's max-in-flight. */
export const DEFAULT_MAX_IN_FLIGHT = 200;
/**
 * Request bodies held at once (declared Content-Length, or the body limit for a chunked body). Bodies are
 * kept, parsed, until the answer is sent; this is what bounds memory under many large bodies.
 */
export const DEFAULT_MAX_IN_FLIGHT_BODY_BYTES = 8 * 1024 * 1024;
/** Just above kube-apiserver's 60 s: by then nobody waits for the answer any more. */
export const DEFAULT_REQUEST_DEADLINE_MS = 61_000;

export interface WebhookAppOptions {
  groupName: string;
  registry: SolverRegistry;
  secretsFor: (namespace: string) => SecretReader;
  serviceAccountTokensFor?: ((namespace: string) => ServiceAccountTokenSource) | undefined;
  log: Logger;
  metrics: Metrics;
  /** Delegated authn/authz. `false` turns authentication OFF: any client may present and clean up (dev only). */
  auth: { authenticator: Authenticator; authorizer: Authorizer } | false;
  /** Time a solver gets per challenge (default 45 s, inside kube-apiserver's 60 s). */
  challengeTimeoutMs?: number | undefined;
  /** Provider economy shared by this app's challenges (default: the process's, defaultEconomy()). */
  economy?: Economy | undefined;
  /** Largest accepted request body (default 1 MiB). */
  maxBodyBytes?: number | undefined;
  /** Requests handled at once, probes not counted (default 200); more are answered 429 + `Retry-After: 1`. */
  maxInFlight?: number | undefined;
  /** Request bodies held at once, in bytes (default 8 MiB); a body past it is answered 429 + `Retry-After: 1`. */
  maxInFlightBodyBytes?: number | undefined;
  /** Time from arrival to answer (default 61 s): then the challenge is aborted and the request answered 504. */
  requestDeadlineMs?: number | undefined;
  /** `/readyz` answers 503 while this is false (default: always ready). */
  isReady?: () => boolean;
  /** True once shutdown began: answers carry `Connection: close` so keep-alive sockets drain. */
  isShuttingDown?: () => boolean;
  /** Aborts every running challenge (e.g. when a shutdown grace period runs out). */
  signal?: AbortSignal | undefined;
}

/** Label for `dns01_webhook_http_requests_total{path}`: bounded, never the raw path. */
type PathClass = 'health' | 'discovery' | 'solver' | 'openapi' | 'other';

interface Locals {
  pathClass: PathClass;
  solver: Solver<unknown>;
  /** Aborts this request's challenge: client gone, deadline passed, or the embedder's signal fired. */
  stop: AbortController;
}

const locals = (res: Response) => res.locals as Locals;

/** Kubernetes verbs for HTTP methods on a resource path. */
const RESOURCE_VERBS: Record<string, string> = { POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/** The request path as the client sent it (not decoded), also when the app is mounted below a prefix. */
const pathnameOf = (req: Request) => req.baseUrl + req.path;

/** Paths in log lines: as sent, but never more than 200 characters of it. */
const logPath = (path: string) => (path.length > 200 ? `${path.slice(0, 200)}… (${path.length} characters)` : path);

/** The decoded `:solver` segment of a solver path. */
const solverName = (req: Request) => req.params.solver as string;

/** path-to-regexp 8 treats these as syntax; an API group is a DNS name, but be exact anyway. */
const literal = (segment: string) => segment.replace(/[{}()[\]+?!:*\\]/g, '\\$&');

function nonResource(req: Request): AuthorizationAttributes {
  return { kind: 'nonResource', verb: req.method === 'HEAD' ? 'get' : req.method.toLowerCase(), path: pathnameOf(req) };
}

/** The message kube-apiserver writes for a denied request, so operators recognise it. */
function forbiddenMessage(user: UserInfo, attrs: AuthorizationAttributes, reason: string | undefined): string {
  const why = reason ? `: ${reason}` : '';
  if (attrs.kind === 'resource') {
    return `${attrs.resource}.${attrs.group} is forbidden: User "${user.username}" cannot ${attrs.verb} resource "${attrs.resource}" in API group "${attrs.group}" at the cluster scope${why}`;
  }
  return `forbidden: User "${user.username}" cannot ${attrs.verb} path "${attrs.path}"${why}`;
}

const renderStatus = (res: Response, err: StatusError) => sendStatus(res, err.code, err.message, err.headers);

export function createWebhookApp(options: WebhookAppOptions): Express {
  const { groupName, registry, metrics, log } = options;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const isReady = options.isReady ?? (() => true);
  const isShuttingDown = options.isShuttingDown ?? (() => false);
  const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const maxInFlightBodyBytes = options.maxInFlightBodyBytes ?? DEFAULT_MAX_IN_FLIGHT_BODY_BYTES;
  const requestDeadlineMs = options.requestDeadlineMs ?? DEFAULT_REQUEST_DEADLINE_MS;
  let inFlight = 0;
  let bodyBytesInFlight = 0;
  const tooMany = (what: string) =>
    new StatusError(429, `Too many requests, please try again later. (${what})`, { 'Retry-After': '1' });
  const group = literal(groupName);

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('case sensitive routing', true); // Kubernetes paths are case-sensitive
  app.set('query parser', false); // no endpoint takes a query

  const classify =
    (pathClass: PathClass): RequestHandler =>
    (_req, res, next) => {
      locals(res).pathClass = pathClass;
      next();
    };

  /** Authenticates, then authorizes `attributesOf(req)`; answers 401/403/503 itself. */
  const authorize =
    (attributesOf: (req: Request) => AuthorizationAttributes) =>
    async (req: Request, res: Response, next: NextFunction): Promise<void> => {
      if (!options.auth) return next();
      const attrs = attributesOf(req);
      let user: UserInfo | null;
      let decision: Awaited<ReturnType<Authorizer['authorize']>>;
      try {
        user = await options.auth.authenticator.authenticate(req);
        if (user === null) return sendStatus(res, 401, 'Unauthorized');
        decision = await options.auth.authorizer.authorize(user, attrs);
      } catch (err) {
        // Infrastructure failure (TokenReview/SubjectAccessReview unreachable): retryable for the caller.
        log.error({ err: (err as Error).message, path: pathnameOf(req) }, 'authentication/authorization failed');
        return sendStatus(res, 503, `unable to authenticate or authorize the request: ${(err as Error).message}`);
      }
      if (!decision.allowed) return sendStatus(res, 403, forbiddenMessage(user, attrs, decision.reason));
      next();
    };

  const notFound = (req: Request) => new StatusError(404, `the server could not find the requested resource (${req.method} ${pathnameOf(req)})`);
  const unknownPath: RequestHandler[] = [
    authorize(nonResource),
    (req) => {
      throw notFound(req);
    },
  ];

  // Every running request's controller, aborted together when the embedder's signal fires (one listener on a
  // long-lived signal, not one per request: EventTarget removal walks its listener list).
  const running = new Set<AbortController>();
  options.signal?.addEventListener('abort', () => {
    for (const stop of running) stop.abort();
  }, { once: true });

  // Bookkeeping for every request: one metric, one log line, `Connection: close` while draining, the deadline.
  app.use((req, res, next) => {
    const started = performance.now();
    const stop = new AbortController();
    Object.assign(locals(res), { pathClass: 'other', stop });
    if (isShuttingDown() && req.httpVersionMajor < 2) res.setHeader('Connection', 'close'); // HTTP/2: GOAWAY instead
    if (options.signal?.aborted) stop.abort();
    else running.add(stop);
    const deadline = setTimeout(() => {
      stop.abort();
      if (res.headersSent) res.destroy();
      else sendStatus(res, 504, `request did not complete within ${requestDeadlineMs / 1000} s`, endsExchange(res));
    }, requestDeadlineMs);
    res.once('close', () => {
      clearTimeout(deadline);
      running.delete(stop);
      if (!res.writableFinished) stop.abort(); // the client went away before the answer
    });
    res.once('finish', () => {
      const code = res.statusCode;
      const pathClass = locals(res).pathClass;
      metrics.httpRequests.inc({ path: pathClass, code: String(code) });
      const line = { method: req.method, path: logPath(pathnameOf(req)), code, durationMs: Math.round(performance.now() - started) };
      if (code >= 500) log.error(line, 'request failed');
      else if (code >= 400 && pathClass !== 'health') log.info(line, 'request rejected');
      else log.debug(line, 'request');
    });
    next();
  });

  // Everything but the probes counts against the in-flight cap (kubelet must reach a busy pod).
  const limitInFlight: RequestHandler = (_req, res, next) => {
    if (inFlight >= maxInFlight) throw tooMany(`more than ${maxInFlight} requests in flight`);
    inFlight++;
    res.once('close', () => inFlight--);
    next();
  };

  // The solver route comes first: it is what the webhook serves all day, and every route before it is one
  // more match for express's router on every challenge.
  app
    .route(`/apis/${group}/${API_VERSION}/:solver`)
    .all(
      classify('solver'),
      limitInFlight,
      authorize((req) => ({
        kind: 'resource',
        verb: RESOURCE_VERBS[req.method] ?? req.method.toLowerCase(),
        group: groupName,
        version: API_VERSION,
        resource: solverName(req),
      })),
      (req, res, next) => {
        const solver = registry.get(solverName(req));
        if (!solver) {
          const known = registry.names();
          throw new StatusError(404, `the server could not find the requested resource: no solver "${solverName(req)}" in ${groupName} (registered: ${known.length ? known.join(', ') : 'none'})`);
        }
        locals(res).solver = solver;
        next();
      },
    )
    .post(async (req, res) => {
      const { solver, stop } = locals(res);
      assertJsonContentType(req);
      reserveBody(req, res);
      const parsed = parseChallengePayload(await readBodyText(req, maxBodyBytes));
      if (!parsed.ok) {
        metrics.challenges.inc({ solver: solver.name, action: 'unknown', outcome: 'invalid' });
        throw new StatusError(400, parsed.message);
      }
      const outcome = await executeChallenge(solver, parsed.request, {
        secretsFor: options.secretsFor,
        serviceAccountTokensFor: options.serviceAccountTokensFor,
        log,
        metrics,
        timeoutMs: options.challengeTimeoutMs,
        ...(options.economy ? { economy: options.economy } : {}),
        controller: stop,
      });
      // Answered already (deadline) or nobody left to answer.
      if (res.headersSent || res.destroyed) return;
      sendJson(res, 201, challengeResponse(parsed.body, parsed.request, outcome));
    })
    .all((req) => {
      throw new StatusError(405, `method ${req.method} is not supported on ${solverName(req)}.${groupName}: only create (POST) is`, { Allow: 'POST' });
    });

  // Probes are never authenticated (kubelet has no credentials).
  for (const check of ['healthz', 'livez', 'readyz'] as const) {
    app.all(`/${check}`, classify('health'), (_req, res) => {
      const ok = check !== 'readyz' || isReady();
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache, private' });
      res.end(ok ? 'ok' : `${check} check failed: ${isShuttingDown() ? 'shutting down' : 'not ready'}`);
    });
  }

  app.use(limitInFlight);

  // Legacy discovery (webhook-protocol.md §4). An `apidiscovery.k8s.io/v2` Accept gets the legacy document
  // too: the aggregator falls back to it.
  const documents: Array<[string, () => unknown]> = [
    ['/apis', () => apiGroupList(groupName)],
    [`/apis/${group}`, () => apiGroup(groupName)],
    [`/apis/${group}/${API_VERSION}`, () => apiResourceList(groupName, registry.names())],
  ];
  for (const [path, document] of documents) {
    app
      .route(path)
      .all(classify('discovery'), authorize(nonResource))
      .get((_req, res) => sendJson(res, 200, document()))
      .all((req) => {
        throw new StatusError(405, `method ${req.method} is not supported on ${pathnameOf(req)}`, { Allow: 'GET' });
      });
  }

  /** Counts the body against the in-flight body budget until the answer is sent (429 when it does not fit). */
  function reserveBody(req: Request, res: Response): void {
    const declared = Number(req.headers['content-length']);
    const bytes = Number.isFinite(declared) ? Math.min(declared, maxBodyBytes + 1) : maxBodyBytes;
    if (bytes === 0) return;
    if (bodyBytesInFlight + bytes > maxInFlightBodyBytes) throw tooMany(`request bodies in flight would exceed ${maxInFlightBodyBytes} bytes`);
    bodyBytesInFlight += bytes;
    res.once('close', () => (bodyBytesInFlight -= bytes));
  }

  // OpenAPI, as kube-aggregator expects from an aggregated server (see openapi.ts for why not a 404).
  let openApi: { key: string; v2: RenderedDocument; v3: RenderedDocument; v3Root: RenderedDocument } | undefined;
  const openApiDocs = () => {
    const names = registry.names();
    const key = names.join('\n');
    if (openApi?.key !== key) {
      const v3 = render(openApiV3(groupName, names));
      openApi = { key, v2: render(openApiV2(groupName, names)), v3, v3Root: render(openApiV3Discovery(groupName, v3.etag.replaceAll('"', ''))) };
    }
    return openApi;
  };
  const openApiRoutes: Array<[string, () => RenderedDocument]> = [
    ['/openapi/v2', () => openApiDocs().v2],
    ['/openapi/v3', () => openApiDocs().v3Root],
    [`/openapi/v3/apis/${group}/${API_VERSION}`, () => openApiDocs().v3],
  ];
  for (const [path, document] of openApiRoutes) {
    app
      .route(path)
      .all(classify('openapi'), authorize(nonResource))
      .get((req, res) => {
        const { body, etag } = document();
        const headers = { ETag: etag, 'Cache-Control': 'no-cache, private' };
        if (req.headers['if-none-match'] === etag) return void res.writeHead(304, headers).end();
        res.writeHead(200, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
      })
      .all((req) => {
        throw new StatusError(405, `method ${req.method} is not supported on ${pathnameOf(req)}`, { Allow: 'GET' });
      });
  }
  app.all(['/openapi', '/openapi/*rest'], classify('openapi'), ...unknownPath);
  app.use(...unknownPath);

  // Every error becomes a Status (or, when nobody is listening any more, a closed socket).
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof URIError) {
      // A solver segment that is not valid percent-encoding names nothing we serve (after authentication).
      void authorize(nonResource)(req, res, () => renderStatus(res, notFound(req)));
      return;
    }
    if (res.headersSent || res.destroyed || err instanceof ClientAbortedError) {
      res.destroy();
      return;
    }
    if (err instanceof StatusError) return renderStatus(res, err);
    log.error({ err: (err as Error)?.message, path: pathnameOf(req) }, 'unexpected error while handling a request');
    sendStatus(res, 500, 'internal error while handling the request; see the webhook log');
  });

  return app;
}

/**
 * Request and response classes for `http(s).createServer({ IncomingMessage, ServerResponse })` whose prototypes
 * are the app's own. express swaps the prototypes of every `req`/`res` it handles (`app.handle`); with these
 * classes the swap finds them in place and changes nothing. The swap gave every request object a second shape
 * that all of Node's HTTP code then met: ≈ 10% of a challenge's CPU (docs/performance.md). Subclasses, not
 * plain functions, so V8 sizes the objects as it does Node's own. `app.request`/`app.response` become the
 * classes' prototypes (same properties). `createWebhookServer` uses them; an embedder serving only this app can.
 */
export function requestClassesFor(app: Express): { IncomingMessage: typeof IncomingMessage; ServerResponse: typeof ServerResponse } {
  class AppRequest extends IncomingMessage {}
  class AppResponse extends ServerResponse {}
  adoptPrototype(AppRequest.prototype, app.request);
  adoptPrototype(AppResponse.prototype, app.response);
  app.request = AppRequest.prototype as unknown as Express['request'];
  app.response = AppResponse.prototype as unknown as Express['response'];
  return { IncomingMessage: AppRequest, ServerResponse: AppResponse as typeof ServerResponse };
}

/** `target` takes `source`'s place: the same prototype chain above it and the same own properties (`app`). */
function adoptPrototype(target: object, source: object): void {
  Object.setPrototypeOf(target, Object.getPrototypeOf(source));
  Object.defineProperties(target, Object.getOwnPropertyDescriptors(source));
}
