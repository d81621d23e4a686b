/**
 * HTTP/2 on the webhook's TLS port, for kube-apiserver's aggregation proxy: it offers ALPN `h2` and then
 * multiplexes every call over one connection instead of opening (and TLS-handshaking) one connection per
 * concurrent request. The TLS server stays the node:https one (HTTP/1.1 for everyone else, unchanged); a
 * socket that negotiated `h2` is handed to the `node:http2` server made here, which never listens itself.
 *
 * The requests go through the same express app. express swaps each request's and response's prototype to
 * its own (built on IncomingMessage/ServerResponse), which would strip the HTTP/2 compatibility objects of
 * their methods (reading the body crashes). So the HTTP/2 path gets its own request/response classes: the
 * compatibility classes plus express's methods, and the app's `handle` is called with those as its prototypes.
 */
import type { Express } from 'express';
import { IncomingMessage, ServerResponse } from 'node:http';
import {
  constants,
  createServer,
  Http2ServerRequest,
  Http2ServerResponse,
  type Http2Server,
  type ServerHttp2Session,
} from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../solver/contract.js';
import { sendStatus } from './status.js';

/**
 * HTTP/2 limits (docs/server.md lists them next to the HTTP/1.1 ones). kube-apiserver opens one session and
 * sends every request on it, so the stream limit is the in-flight cap: past it the client queues (Go's
 * transport) instead of us answering 429.
 */
export interface Http2Limits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS per session. */
  maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: decoded header bytes per request (HTTP/1.1: Node's 16 KiB maxHeaderSize). */
  maxHeaderListSize: number;
  /** Header fields per request (HTTP/1.1: Node's maxHeadersCount, 2,000). */
  maxHeaderListPairs: number;
  /** A new session must open its first stream within this (HTTP/1.1: the first-request timer). */
  firstStreamTimeoutMs: number;
  /** A session without open streams for this long is closed with GOAWAY (HTTP/1.1: keepAliveTimeout). */
  idleTimeoutMs: number;
  /** From a stream's headers to its last body byte; then 408 and the stream is reset (HTTP/1.1: requestTimeout). */
  bodyTimeoutMs: number;
}

export const HTTP2_SESSION_MEMORY_MB = 10;
export const HTTP2_MAX_SESSION_INVALID_FRAMES = 100;
export const HTTP2_MAX_SESSION_REJECTED_STREAMS = 100;
export const HTTP2_MAX_OUTSTANDING_PINGS = 10;
export const HTTP2_MAX_SETTINGS = 32;
/**
 * Rapid reset (CVE-2023-44487): streams the client resets before their answer, per session, as a token
 * bucket — a burst of this many, refilled at HTTP2_RESET_RATE per second. Past it the session gets GOAWAY
 * (ENHANCE_YOUR_CALM) and is destroyed. Node 20's nghttp2 has such a limit built in but it did not trip in
 * our test (5,000 resets in ~2 s), and Node 20 cannot configure it (streamResetBurst/Rate came in Node 22).
 */
export const HTTP2_RESET_BURST = 200;
export const HTTP2_RESET_RATE = 33;

export interface Http2Listener {
  readonly server: Http2Server;
  /** Serves HTTP/2 on a TLS socket whose ALPN protocol is `h2`. */
  accept(socket: TLSSocket): void;
  /** GOAWAY on every session: in-flight streams finish, no new ones start; new sessions are closed at once. */
  drain(): void;
  /** Sessions open now. */
  readonly sessions: ReadonlySet<ServerHttp2Session>;
}

/** Own property descriptors from `proto` up to (not including) `base`, the nearest winning. */
function descriptorsUpTo(proto: object, base: object, what: string): PropertyDescriptorMap {
  const chain: object[] = [];
  let p: object | null = proto;
  while (p !== null && p !== base) {
    chain.push(p);
    p = Object.getPrototypeOf(p) as object | null;
  }
  if (p !== base) throw new Error(`express's ${what} prototype does not derive from node:http's; cannot serve HTTP/2 through it`);
  const out: PropertyDescriptorMap = {};
  for (const level of chain.reverse()) Object.assign(out, Object.getOwnPropertyDescriptors(level));
  Reflect.deleteProperty(out, 'constructor');
  return out;
}

/** Adds express's members to `target` without shadowing what the HTTP/2 compatibility class defines. */
function addMembers(target: object, members: PropertyDescriptorMap): void {
  for (const [name, descriptor] of Object.entries(members)) {
    if (!(name in target)) Object.defineProperty(target, name, descriptor);
  }
}

/**
 * Request/response classes for `app` on HTTP/2, and a handler that runs the app with them. Instances are
 * created with the app's prototypes already, so express's prototype swap is a no-op for them.
 */
export interface Http2App {
  Request: typeof Http2ServerRequest;
  Response: typeof Http2ServerResponse;
  /** Runs the app; `done` is called if the app leaves the request unanswered (express's final handler otherwise). */
  handle(req: Http2ServerRequest, res: Http2ServerResponse, done?: (err?: unknown) => void): void;
}

export function http2App(app: Express): Http2App {
  class AppHttp2Request extends Http2ServerRequest {}
  class AppHttp2Response extends Http2ServerResponse {}
  addMembers(AppHttp2Request.prototype, descriptorsUpTo(app.request, IncomingMessage.prototype, 'request'));
  addMembers(AppHttp2Response.prototype, descriptorsUpTo(app.response, ServerResponse.prototype, 'response'));
  Object.defineProperties(AppHttp2Response.prototype, {
    // express assigns res.req; Node versions that define `req` as a getter would throw on that in strict mode.
    req: { value: undefined, writable: true, configurable: true },
    // ServerResponse has it and the app checks it; the compatibility response does not (Node 20).
    destroyed: { get(this: Http2ServerResponse) { return this.stream.destroyed; }, configurable: true },
  });
  // The same app (router, settings, locals) with the HTTP/2 prototypes: `handle` reads this.request/response.
  const view = Object.create(app, {
    request: { value: AppHttp2Request.prototype },
    response: { value: AppHttp2Response.prototype },
  }) as { handle(req: Http2ServerRequest, res: Http2ServerResponse, done?: (err?: unknown) => void): void };
  const handle = (req: Http2ServerRequest, res: Http2ServerResponse, done?: (err?: unknown) => void) => view.handle(req, res, done);
  return { Request: AppHttp2Request, Response: AppHttp2Response as typeof Http2ServerResponse, handle };
}

export interface Http2ListenerOptions {
  app: Express;
  limits: Http2Limits;
  log: Logger;
  /** Called for every request before the app (drain bookkeeping). */
  onRequest?: (req: Http2ServerRequest, res: Http2ServerResponse) => void;
  /** Called once per accepted session (metrics). */
  onSession?: (session: ServerHttp2Session) => void;
  /** The app's final handler: called when it leaves a request unanswered. */
  unanswered?: (req: Http2ServerRequest, res: Http2ServerResponse) => (err?: unknown) => void;
}

export function createHttp2Listener(options: Http2ListenerOptions): Http2Listener {
  const { limits, log } = options;
  const { Request, Response, handle } = http2App(options.app);
  const server = createServer({
    Http2ServerRequest: Request,
    Http2ServerResponse: Response,
    settings: {
      maxConcurrentStreams: limits.maxConcurrentStreams,
      maxHeaderListSize: limits.maxHeaderListSize,
      enablePush: false,
    },
    maxHeaderListPairs: limits.maxHeaderListPairs,
    maxSessionMemory: HTTP2_SESSION_MEMORY_MB,
    maxSessionInvalidFrames: HTTP2_MAX_SESSION_INVALID_FRAMES,
    maxSessionRejectedStreams: HTTP2_MAX_SESSION_REJECTED_STREAMS,
    maxOutstandingPings: HTTP2_MAX_OUTSTANDING_PINGS,
    maxSettings: HTTP2_MAX_SETTINGS,
  });
  const sessions = new Set<ServerHttp2Session>();
  /** Each session's TLS socket (session.socket is a proxy that refuses destroy()). */
  const tlsSockets = new WeakMap<ServerHttp2Session, TLSSocket>();
  let accepting: TLSSocket | undefined;
  let draining = false;

  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    if (accepting) tlsSockets.set(session, accepting);
    options.onSession?.(session);
    // Closed sessions linger while streams finish; a peer that never lets them finish is cut off.
    let open = 0;
    let idle: NodeJS.Timeout | undefined;
    const closeIdle = (why: string) => {
      log.debug({ why }, 'closing HTTP/2 session');
      close(session);
    };
    const arm = (ms: number, why: string) => {
      clearTimeout(idle);
      idle = setTimeout(() => closeIdle(why), ms).unref();
    };
    arm(limits.firstStreamTimeoutMs, 'no request after the handshake');
    let resetTokens = HTTP2_RESET_BURST;
    let refilledAt = performance.now();
    const onClientReset = () => {
      const now = performance.now();
      resetTokens = Math.min(HTTP2_RESET_BURST, resetTokens + ((now - refilledAt) / 1000) * HTTP2_RESET_RATE);
      refilledAt = now;
      if (--resetTokens >= 0 || session.destroyed) return;
      log.info({ burst: HTTP2_RESET_BURST, perSecond: HTTP2_RESET_RATE }, 'HTTP/2 client reset too many streams; closing its session');
      session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
      // session.destroy() alone only ends the socket gracefully, which a client busy writing can hold open.
      const socket = tlsSockets.get(session);
      session.destroy();
      setImmediate(() => socket?.destroy());
    };
    session.on('stream', (stream) => {
      open++;
      clearTimeout(idle);
      stream.once('close', () => {
        // Reset before it ended normally (by the client, or by us after a body timeout).
        if (stream.rstCode !== constants.NGHTTP2_NO_ERROR) onClientReset();
        if (--open === 0 && !session.closed) arm(limits.idleTimeoutMs, 'idle');
      });
    });
    session.once('close', () => {
      clearTimeout(idle);
      sessions.delete(session);
    });
    if (draining) close(session);
  });
  server.on('sessionError', (err) => log.debug({ err: err.message }, 'HTTP/2 session error'));

  // Node answers an unhandled CONNECT with a bare 405; this server tunnels nothing and says so as a Status.
  server.on('connect', (req: Http2ServerRequest, res: Http2ServerResponse) => {
    sendStatus(res as never, 405, `method CONNECT is not supported on ${req.authority ?? ''}`);
  });

  server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
    options.onRequest?.(req, res);
    // Once the answer is out nobody reads the body any more. Node destroys a closed stream (and only then
    // emits the response's 'finish' and 'close', which release the in-flight slot and body budget) after
    // its readable side ended, which a body paused mid-read (413, early errors) never does: drop the rest.
    res.stream.once('finish', () => req.resume());
    // Node has no per-request body deadline on HTTP/2: a body still arriving after bodyTimeoutMs gets a 408
    // (unless answered already) and its stream is reset; the session and its other streams go on.
    if (!req.complete) {
      const timer = setTimeout(() => {
        if (req.complete) return;
        log.debug({}, 'HTTP/2 request body not received in time');
        if (!res.headersSent) sendStatus(res as never, 408, 'request not received in time (body too slow)');
        else res.stream.close(constants.NGHTTP2_CANCEL);
      }, limits.bodyTimeoutMs).unref();
      req.once('end', () => clearTimeout(timer));
      res.once('close', () => clearTimeout(timer));
    }
    handle(req, res, options.unanswered?.(req, res));
  });

  /** GOAWAY: open streams finish, no new ones; a session still open after the grace is destroyed. */
  function close(session: ServerHttp2Session): void {
    if (session.closed || session.destroyed) return;
    session.close();
    setTimeout(() => session.destroy(), limits.idleTimeoutMs).unref();
  }

  return {
    server,
    sessions,
    accept(socket) {
      // 'session' is emitted synchronously from the connection listener.
      accepting = socket;
      try {
        server.emit('connection', socket);
      } finally {
        accepting = undefined;
      }
    },
    drain() {
      draining = true;
      for (const session of sessions) close(session);
    },
  };
}
