/**
 * Delegated authentication (k8s.io/apiserver's union authenticator, in its order):
 *   1. front proxy: a client certificate from the requestheader CA (clientAuth, CN in allowed names)
 *      makes the X-Remote-User / X-Remote-Group / X-Remote-Extra-* headers trusted;
 *   2. a client certificate from the client CA: user = CN, groups = O;
 *   3. `Authorization: Bearer` → TokenReview (cached, both outcomes).
 * The identity headers are read ONLY in step 1; any other request's headers are ignored.
 */
import { createHash, type X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { KubeClientFacade, TokenReviewResult } from '../kube/client.js';
import type { Logger } from '../solver/contract.js';
import type { AuthenticationConfig, RequestHeaderConfig } from './authn-config.js';
import { nextValidityChange, peerCertificates, subjectNames, verifyClientChain } from './pki.js';
import { TtlCache } from './ttl-cache.js';
import type { Authenticator, UserInfo } from './types.js';

export const AUTHENTICATED_GROUP = 'system:authenticated';
const UNAUTHENTICATED_GROUP = 'system:unauthenticated';

/** Like Go's AuthenticatedGroupAdder: every authenticated user is in system:authenticated. */
function withAuthenticatedGroup(user: UserInfo): UserInfo {
  if (user.groups.includes(AUTHENTICATED_GROUP) || user.groups.includes(UNAUTHENTICATED_GROUP)) return user;
  return { ...user, groups: [...user.groups, AUTHENTICATED_GROUP] };
}

function decodeExtraKey(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return encoded;
  }
}

/**
 * The user a trusted front proxy asserted; undefined when it sent no username (→ not authenticated this way).
 * Header names are case-insensitive and repeated headers stay apart (as k8s.io/apiserver reads them). One pass
 * over `rawHeaders`: Node building `headersDistinct` for every header was ≈ 2% of a challenge's CPU.
 */
export function userFromHeaders(req: IncomingMessage, config: RequestHeaderConfig): UserInfo | undefined {
  const wanted = lowercased(config);
  const values = new Map<string, string[]>();
  const extra: Record<string, string[]> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (wanted.names.has(name)) {
      const list = values.get(name);
      if (list) list.push(value);
      else values.set(name, [value]);
    }
    const prefix = wanted.extraPrefixes.find((p) => name.startsWith(p));
    if (prefix === undefined) continue;
    const key = decodeExtraKey(name.slice(prefix.length)).toLowerCase();
    if (key !== '') (extra[key] ??= []).push(value);
  }
  const first = (names: string[]) => {
    for (const name of names) {
      const value = values.get(name)?.find((v) => v !== '');
      if (value !== undefined) return value;
    }
    return undefined;
  };
  const username = first(wanted.username);
  if (!username) return undefined;
  const uid = first(wanted.uid);
  const groups = wanted.group.flatMap((name) => values.get(name) ?? []).filter((g) => g !== '');
  return { username, ...(uid ? { uid } : {}), groups, extra };
}

interface LowercasedHeaderNames {
  username: string[];
  uid: string[];
  group: string[];
  extraPrefixes: string[];
  names: Set<string>;
}

/** Per configuration object (a CA rotation replaces it), not per request. */
const lowercasedNames = new WeakMap<RequestHeaderConfig, LowercasedHeaderNames>();

function lowercased(config: RequestHeaderConfig): LowercasedHeaderNames {
  let names = lowercasedNames.get(config);
  if (!names) {
    const lower = (list: string[]) => list.map((n) => n.toLowerCase());
    const username = lower(config.usernameHeaders);
    const uid = lower(config.uidHeaders);
    const group = lower(config.groupHeaders);
    names = { username, uid, group, extraPrefixes: lower(config.extraHeaderPrefixes), names: new Set([...username, ...uid, ...group]) };
    lowercasedNames.set(config, names);
  }
  return names;
}

export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization?.trim();
  if (!header) return undefined;
  const [scheme, token] = header.split(' ', 3);
  if (scheme?.toLowerCase() !== 'bearer' || !token) return undefined;
  return token;
}

/**
 * The TLS connection a request arrived on, as the key of the per-connection cache: the TLS socket for
 * HTTP/1.1; for HTTP/2 the session's socket (`req.stream.session.socket`: Node's one object per session,
 * which forwards to that session's TLS socket). Never req.socket on HTTP/2: that is a new proxy per stream.
 * Undefined (no caching) when the stream's session is already gone.
 */
export function connectionOf(req: IncomingMessage): Partial<TLSSocket> | undefined {
  const stream = (req as { stream?: { session?: { socket?: TLSSocket } } }).stream;
  if (stream !== undefined) return stream.session?.socket;
  return req.socket as Partial<TLSSocket> | undefined;
}

export interface AuthenticatorOptions {
  /** The current configuration (it changes when the ConfigMap or CA files change). */
  config: () => AuthenticationConfig;
  kube?: Pick<KubeClientFacade, 'tokenReview'>;
  log: Logger;
  cacheTtlMs: number;
}

/**
 * What one TLS connection's client certificate proves under one authentication configuration. A keep-alive
 * connection's peer certificate never changes, so the X.509 work (parsing the chain, verifying signatures,
 * reading the subject) is done once per connection instead of once per request (it was most of the CPU
 * time under load). The headers are still read on every request: they are never part of this.
 */
interface ConnectionIdentity {
  /** The configuration this was computed for; a CA rotation replaces the object, so the next request recomputes. */
  config: AuthenticationConfig;
  /** When a certificate involved enters or leaves its validity period: recompute from then on. */
  until: number;
  /** CN of a verified front-proxy certificate whose CN is allowed; undefined = headers not trusted. */
  frontProxyCn: string | undefined;
  /** The user a client-CA certificate names (computed on first need). */
  clientCertUser?: UserInfo | null;
  chain: X509Certificate[];
}

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const { log, kube } = options;
  const tokens = new TtlCache<TokenReviewResult>(options.cacheTtlMs);
  // Keyed by the TLS socket itself, never by anything the client sends in a request: an entry can only be
  // reached by requests on the connection whose handshake presented that certificate.
  const connections = new WeakMap<object, ConnectionIdentity>();
  let warnedNoKube = false;

  function verifiedFrontProxyCn(chain: X509Certificate[], rh: RequestHeaderConfig, now: number): string | undefined {
    const verified = verifyClientChain(chain, rh.ca.certificates, now);
    if (!verified.ok) return undefined;
    const { commonName } = subjectNames(verified.leaf);
    if (rh.allowedNames.length > 0 && !rh.allowedNames.includes(commonName)) {
      log.debug({ commonName, allowedNames: rh.allowedNames }, 'front-proxy certificate CN not in requestheader-allowed-names');
      return undefined;
    }
    return commonName;
  }

  function clientCertificateUser(chain: X509Certificate[], config: AuthenticationConfig, now: number): UserInfo | null {
    if (!config.clientCA) return null;
    const verified = verifyClientChain(chain, config.clientCA.certificates, now);
    if (!verified.ok) {
      log.debug({ reason: verified.reason }, 'client certificate rejected');
      return null;
    }
    const { commonName, organizations } = subjectNames(verified.leaf);
    if (!commonName) return null;
    return { username: commonName, groups: organizations, extra: {} };
  }

  /** The connection's identity for `config`, from the cache while nothing it depends on changed. */
  function connectionIdentity(req: IncomingMessage, config: AuthenticationConfig, now: number): ConnectionIdentity {
    const socket = connectionOf(req);
    const cached = socket ? connections.get(socket) : undefined;
    if (cached && cached.config === config && now < cached.until) return cached;
    const chain = cached?.chain ?? (socket ? peerCertificates(socket) : []);
    const roots = [...(config.requestHeader?.ca.certificates ?? []), ...(config.clientCA?.certificates ?? [])];
    const identity: ConnectionIdentity = {
      config,
      until: nextValidityChange([...chain, ...roots], now),
      frontProxyCn: chain.length > 0 && config.requestHeader ? verifiedFrontProxyCn(chain, config.requestHeader, now) : undefined,
      chain,
    };
    if (socket) {
      // The cache assumes the handshake's certificate is the connection's for good: refuse TLS 1.2
      // renegotiation, the only way a client could present another one mid-connection (TLS 1.3 has none).
      socket.disableRenegotiation?.();
      connections.set(socket, identity);
    }
    return identity;
  }

  async function byToken(token: string): Promise<UserInfo | undefined> {
    if (!kube) {
      if (!warnedNoKube) log.warn({}, 'bearer token presented but no Kubernetes API is configured for TokenReview');
      warnedNoKube = true;
      return undefined;
    }
    const key = createHash('sha256').update(token).digest('hex');
    const review = await tokens.getOrLoad(key, () => kube.tokenReview(token));
    if (!review.authenticated || !review.user) {
      log.debug({ error: review.error }, 'bearer token not authenticated by TokenReview');
      return undefined;
    }
    return review.user;
  }

  return {
    async authenticate(req) {
      const config = options.config();
      const now = Date.now();
      const connection = connectionIdentity(req, config, now);
      let user: UserInfo | undefined;
      if (connection.frontProxyCn !== undefined && config.requestHeader) {
        user = userFromHeaders(req, config.requestHeader);
        if (!user) log.debug({ commonName: connection.frontProxyCn }, 'front-proxy certificate without a username header');
      }
      if (!user && connection.chain.length > 0) {
        connection.clientCertUser ??= clientCertificateUser(connection.chain, config, now);
        user = connection.clientCertUser ?? undefined;
      }
      if (!user) {
        const token = bearerToken(req);
        if (token) user = await byToken(token);
      }
      return user ? withAuthenticatedGroup(user) : null;
    },
  };
}
