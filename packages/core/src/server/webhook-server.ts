/**
 * The HTTPS aggregated API server cert-manager's DNS-01 webhook calls go through (via kube-apiserver).
 * TLS: asks for a client certificate advertising the client CAs (Go clients, like kube-apiserver's front
 * proxy, only send one that chains to an advertised CA) but lets the authenticator decide; reloads the
 * serving certificate and the client CAs without dropping in-flight requests.
 */
import type { Economy } from '../economy/economy.js';
import type express from 'express';
import * as http from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import type { Authenticator, Authorizer, ClientCaSource } from '../auth/types.js';
import { redactingLogger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { SecretRegistry } from '../observability/redact.js';
import type { Logger, SecretReader, ServiceAccountTokenSource } from '../solver/contract.js';
import type { SolverRegistry } from '../solver/registry.js';
import type { KeyPairPem } from '../tls/certificates.js';
import { staticServingCertificate, watchServingCertificate, type ServingCertificate } from '../tls/serving-certificate.js';
import { createWebhookApp, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_IN_FLIGHT, requestClassesFor } from './app.js';
import { createHttp2Listener } from './http2.js';
import { failureStatus, sendStatus } from './status.js';

export { DEFAULT_MAX_BODY_BYTES };
export const DEFAULT_GRACE_MS = 10_000;

export type TlsSource =
  | { certFile: string; keyFile: string; pollIntervalMs?: number }
  | { selfSigned: string[] }
  | { certPem: string; keyPem: string };

export interface WebhookServerOptions {
  groupName: string;
  registry: SolverRegistry;
  secretsFor: (namespace: string) => SecretReader;
  serviceAccountTokensFor?: (namespace: string) => ServiceAccountTokenSource;
  log: Logger;
  metrics: Metrics;
  /** Delegated authn/authz. Undefined turns authentication OFF (dev mode only; logged loudly). */
  auth?: { authenticator: Authenticator; authorizer: Authorizer; clientCAs: ClientCaSource; ready?: () => boolean };
  tls: TlsSource;
  bindAddress?: string;
  port?: number;
  challengeTimeoutMs?: number;
  maxBodyBytes?: number;
  /** See WebhookAppOptions: requests and request bodies handled at once, time from arrival to answer. */
  maxInFlight?: number;
  maxInFlightBodyBytes?: number;
  requestDeadlineMs?: number;
  /** Slow-client bounds (defaults: DEFAULT_HEADERS_TIMEOUT_MS, DEFAULT_BODY_TIMEOUT_MS). */
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /** Provider economy (rate limits, breakers, caches) for this server's challenges; default the process's. */
  economy?: Economy;
  /** Offer HTTP/2 (ALPN `h2`) next to HTTP/1.1 (default true); kube-apiserver's proxy then uses one connection. */
  http2?: boolean;
}

/**
 * From connection (TLS handshake included) to a request's complete headers. kube-apiserver's proxy and the
 * kubelet send headers at once; k8s.io/apiserver allows 32 s (ReadHeaderTimeout), a trickling client less here.
 */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
/** From a request's first byte to its last body byte (Node's requestTimeout; the answer is bounded by the app's deadline). */
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;
/**
 * Idle keep-alive connections (HTTP/1.1) and HTTP/2 sessions without open streams are closed after this:
 * longer than the idle timeout of Go HTTP transports such as kube-apiserver's proxy (90 s), so the client
 * closes an idle connection first and never sends a (non-retryable) POST into a socket we are closing.
 */
export const IDLE_TIMEOUT_MS = 120_000;

export interface WebhookServer {
  listen(): Promise<{ address: string; port: number }>;
  /** Stops accepting, lets in-flight requests finish, aborts their challenges when the grace runs out. */
  close(graceMs?: number): Promise<void>;
  readonly server: Server;
}

async function servingCertificate(tls: TlsSource, log: Logger): Promise<ServingCertificate> {
  if ('certFile' in tls) return watchServingCertificate(tls.certFile, tls.keyFile, { log, pollIntervalMs: tls.pollIntervalMs });
  if ('selfSigned' in tls) {
    log.info({ hosts: tls.selfSigned }, 'no serving certificate files given: using a generated self-signed certificate');
    // Loaded only here: the certificate generator pulls in an ASN.1 library (≈20 MiB) that serving never needs.
    const { selfSignedServing } = await import('../tls/certificates.js');
    return staticServingCertificate(await selfSignedServing(tls.selfSigned));
  }
  return staticServingCertificate({ certPem: tls.certPem, keyPem: tls.keyPem } satisfies KeyPairPem);
}

const answeredRaw = new WeakSet<Socket>();

/**
 * A Status answer written on a socket no ServerResponse owns (parse errors, CONNECT), then the socket closed.
 * The close lingers (up to 2 s, reading and dropping what the client still sends): closing with unread data
 * makes the kernel send a reset that can destroy the answer before the client reads it.
 */
function answerRaw(socket: Socket, code: number, phrase: string, message: string): void {
  answeredRaw.add(socket);
  const body = JSON.stringify(failureStatus(code, message));
  const linger = setTimeout(() => socket.destroy(), 2_000).unref();
  socket.once('close', () => clearTimeout(linger));
  socket.once('end', () => socket.destroy());
  socket.end(`HTTP/1.1 ${code} ${phrase}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  socket.resume();
}

export function createWebhookServer(options: WebhookServerOptions): WebhookServer {
  const log = options.log;
  const auth = options.auth;
  const shutdown = new AbortController();
  let shuttingDown = false;
  let certificate: ServingCertificate | undefined;
  const cleanups: Array<() => void> = [];

  // Requests between arrival and their response's close; shutdown waits for this to reach 0.
  let active = 0;
  const idleWaiters: Array<() => void> = [];
  const whenIdle = () => (active === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve)));
  const app = createWebhookApp({
    groupName: options.groupName,
    registry: options.registry,
    secretsFor: options.secretsFor,
    serviceAccountTokensFor: options.serviceAccountTokensFor,
    log,
    metrics: options.metrics,
    auth: auth ? { authenticator: auth.authenticator, authorizer: auth.authorizer } : false,
    challengeTimeoutMs: options.challengeTimeoutMs,
    economy: options.economy,
    maxBodyBytes: options.maxBodyBytes,
    maxInFlight: options.maxInFlight,
    maxInFlightBodyBytes: options.maxInFlightBodyBytes,
    requestDeadlineMs: options.requestDeadlineMs,
    isReady: () => !shuttingDown && certificate !== undefined && (auth?.ready?.() ?? true),
    isShuttingDown: () => shuttingDown,
    signal: shutdown.signal,
  });
  const headersTimeoutMs = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  const server = createServer({
    ...requestClassesFor(app),
    // Ask for a client certificate, never reject the handshake over it: the authenticator decides.
    requestCert: auth !== undefined,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
    handshakeTimeout: headersTimeoutMs,
    // How often Node enforces headersTimeout/requestTimeout (default 30 s would let them overrun that much).
    connectionsCheckingInterval: 1_000,
    ALPNProtocols: options.http2 === false ? ['http/1.1'] : ['h2', 'http/1.1'],
  });
  server.keepAliveTimeout = IDLE_TIMEOUT_MS;
  server.headersTimeout = headersTimeoutMs;
  server.requestTimeout = Math.max(options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS, headersTimeoutMs);

  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // Node's headersTimeout only starts with a request's first byte: a connection that never sends one would
  // stay open for ever. The first request must arrive soon after the handshake (2 s later than headersTimeout,
  // so that headers which did start get Node's 408 rather than a silent close).
  const firstRequest = new WeakMap<Socket, NodeJS.Timeout>();
  const startFirstRequestTimer = (socket: Socket) => {
    const timer = setTimeout(() => socket.destroy(), headersTimeoutMs + 2_000);
    firstRequest.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
  };
  // node:https serves HTTP/1.1 on every TLS connection through http's connection listener; a connection that
  // negotiated h2 goes to the HTTP/2 listener instead (below), so the two never share a socket.
  const httpConnectionListener = (http as unknown as { _connectionListener?: unknown })._connectionListener;
  const serveHttp1 = server.listeners('secureConnection').find((listener) => listener === httpConnectionListener);
  if (serveHttp1 === undefined) throw new Error("node:https no longer serves connections through http's connection listener; cannot add HTTP/2");
  server.removeListener('secureConnection', serveHttp1 as (socket: TLSSocket) => void);
  server.on('secureConnection', (socket: TLSSocket) => {
    options.metrics.tlsConnections.inc({ protocol: socket.alpnProtocol || 'none' });
    if (socket.alpnProtocol === 'h2') return http2.accept(socket);
    serveHttp1.call(server, socket);
    startFirstRequestTimer(socket);
  });
  server.on('request', (req) => {
    clearTimeout(firstRequest.get(req.socket));
    firstRequest.delete(req.socket);
  });
  server.on('tlsClientError', (err) => log.debug({ err: err.message }, 'TLS handshake failed'));
  // A malformed request, headers too large, or a request not received in time: answered with a Status when
  // nothing was written on the connection yet, then closed (what Node does, as JSON kubectl can print).
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // More of the same request's bytes after it was answered: the close is already lingering.
    if (answeredRaw.has(socket)) return;
    log.debug({ err: err.code ?? err.message }, 'malformed or timed-out request');
    // Only a response caught half-written makes an answer impossible. One not started yet (a body still being
    // read) is replaced by ours; a previous one on a kept-alive connection may not have emitted 'finish' yet,
    // but once it has ended an answer after it is a well-formed sequence (Node gives up on that one too).
    const pending = (socket as Socket & { _httpMessage?: { headersSent?: boolean; writableEnded?: boolean } })._httpMessage;
    const halfWritten = pending !== undefined && pending !== null && pending.headersSent && !pending.writableEnded;
    if (err.code === 'ECONNRESET' || !socket.writable || halfWritten) return void socket.destroy();
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') answerRaw(socket, 408, 'Request Timeout', 'request not received in time (headers or body too slow)');
    else if (err.code === 'HPE_HEADER_OVERFLOW') answerRaw(socket, 431, 'Request Header Fields Too Large', 'request headers too large');
    else answerRaw(socket, 400, 'Bad Request', `malformed HTTP request (${err.code ?? 'parse error'})`);
  });
  // Node closes a CONNECT without a word when nobody handles it; this server tunnels nothing.
  server.on('connect', (req: { url?: string }, socket: Socket) => answerRaw(socket, 405, 'Method Not Allowed', `method CONNECT is not supported on ${req.url ?? ''}`));

  /** In flight until its response closes (shutdown waits for none to be left). */
  const track = (res: { once(event: 'close', listener: () => void): unknown }) => {
    active++;
    res.once('close', () => {
      if (--active === 0) for (const resolve of idleWaiters.splice(0)) resolve();
    });
  };
  // The app answers every path and every error itself; this only runs if that ever stops being true
  // (and spares express building its default final handler for each request).
  const unanswered = (req: { url?: string }, res: Parameters<typeof sendStatus>[0]) => (err?: unknown) => {
    if (res.headersSent) return void res.destroy();
    log.error({ err: (err as Error | undefined)?.message, path: req.url }, 'request left unanswered by the app');
    sendStatus(res, err === undefined ? 404 : 500, err === undefined ? 'not found' : 'internal error while handling the request; see the webhook log');
  };
  server.on('request', (req, res) => {
    track(res);
    // (req/res are the app's request/response already: requestClassesFor.)
    app(req as express.Request, res as express.Response, unanswered(req, res));
  });
  const http2 = createHttp2Listener({
    app,
    log,
    limits: {
      maxConcurrentStreams: options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
      maxHeaderListSize: http.maxHeaderSize,
      maxHeaderListPairs: 2_000,
      firstStreamTimeoutMs: headersTimeoutMs + 2_000,
      idleTimeoutMs: IDLE_TIMEOUT_MS,
      bodyTimeoutMs: server.requestTimeout,
    },
    onRequest: (_req: Http2ServerRequest, res: Http2ServerResponse) => track(res),
    unanswered: (req, res) => unanswered(req, res as never),
  });

  function contextOptions(): SecureContextOptions {
    const pair = certificate!.current();
    const ca = auth?.clientCAs.caBundle().trim();
    return { cert: pair.certPem, key: pair.keyPem, minVersion: 'TLSv1.2', ...(ca ? { ca } : {}) };
  }

  /** New handshakes use the new context; established connections keep theirs. */
  function refreshContext(why: string): void {
    try {
      server.setSecureContext(contextOptions());
      log.info({ why }, 'TLS context reloaded');
    } catch (err) {
      log.error({ why, err: (err as Error).message }, 'cannot rebuild the TLS context; keeping the previous one');
    }
  }

  return {
    server,
    async listen() {
      if (!auth) log.warn({}, 'AUTHENTICATION IS DISABLED: any client that reaches this port can present and clean up DNS records (dev mode only)');
      // Each solver initializes once, before the first challenge can arrive.
      for (const solver of options.registry.list()) {
        try {
          // Redacting like a challenge's logger: credential-named keys are censored at any depth.
          await solver.initialize?.({ log: redactingLogger(log.child({ solver: solver.name }), new SecretRegistry()) });
        } catch (err) {
          throw new Error(`solver "${solver.name}" failed to initialize: ${(err as Error).message}`, { cause: err });
        }
      }
      certificate = await servingCertificate(options.tls, log);
      server.setSecureContext(contextOptions());
      cleanups.push(certificate.onChange(() => refreshContext('serving certificate changed')));
      if (auth) cleanups.push(auth.clientCAs.onChange(() => refreshContext('client CA bundle changed')));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? 8443, options.bindAddress ?? '0.0.0.0', () => {
          server.off('error', reject);
          resolve();
        });
      });
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
      log.info({ address: address.address, port: address.port, groupName: options.groupName, solvers: options.registry.names() }, 'webhook server listening');
      return { address: address.address, port: address.port };
    },

    async close(graceMs = DEFAULT_GRACE_MS) {
      if (shuttingDown) return;
      shuttingDown = true;
      for (const cleanup of cleanups) cleanup();
      certificate?.close();
      const closed = new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
      server.closeIdleConnections();
      http2.drain();
      // Sockets between requests (keep-alive) close now; busy ones get `Connection: close` on their answer
      // (HTTP/2 sessions got GOAWAY: their open streams finish, no new ones start).
      const deadline = Date.now() + graceMs;
      // Leave part of the grace for aborted challenges to still send their (failure) answer.
      const abortAt = deadline - Math.min(1_000, graceMs / 4);
      // True once no request is in flight (requests may still arrive on busy keep-alive sockets).
      const settled = async (until: number): Promise<boolean> => {
        while (active > 0) {
          const left = until - Date.now();
          if (left <= 0) return false;
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([whenIdle(), new Promise((r) => (timer = setTimeout(r, left)))]);
          clearTimeout(timer);
        }
        return true;
      };
      if (!(await settled(abortAt))) {
        log.warn({ inFlight: active }, 'shutdown grace running out: aborting in-flight challenges');
        shutdown.abort();
        await settled(deadline);
      }
      server.closeIdleConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
      log.info({}, 'webhook server stopped');
    },
  };
}
