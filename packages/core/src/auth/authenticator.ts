/**
 * Delegated authentication (k8s.io/apiserver's union authenticator, in its order):
 *   1. front proxy: a client certificate from the requestheader CA (clientAuth, CN in allowed names)
 *      makes the X-Remote-User / X-Remote-Group / X-Remote-Extra-* headers trusted;
 *   2. a client certificate from the client CA: user = CN, groups = O;
 *   3. `Authorization: Bearer` → TokenReview (cached, both outcomes).
 * The identity headers are read ONLY in step 1; any other request's headers are ignored.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { KubeClientFacade, TokenReviewResult } from '../kube/client.js';
import type { Logger } from '../solver/contract.js';
import type { AuthenticationConfig, RequestHeaderConfig } from './authn-config.js';
import { peerCertificates, subjectNames, verifyClientChain } from './pki.js';
import { TtlCache } from './ttl-cache.js';
import type { Authenticator, UserInfo } from './types.js';

export const AUTHENTICATED_GROUP = 'system:authenticated';
const UNAUTHENTICATED_GROUP = 'system:unauthenticated';

/** Like Go's AuthenticatedGroupAdder: every authenticated user is in system:authenticated. */
function withAuthenticatedGroup(user: UserInfo): UserInfo {
  if (user.groups.includes(AUTHENTICATED_GROUP) || user.groups.includes(UNAUTHENTICATED_GROUP)) return user;
  return { ...user, groups: [...user.groups, AUTHENTICATED_GROUP] };
}

function headerValues(req: IncomingMessage, name: string): string[] {
  // headersDistinct keeps repeated headers apart (req.headers joins them with ", ").
  return req.headersDistinct[name.toLowerCase()] ?? [];
}

function firstHeader(req: IncomingMessage, names: string[]): string | undefined {
  for (const name of names) {
    const value = headerValues(req, name).find((v) => v !== '');
    if (value !== undefined) return value;
  }
  return undefined;
}

function decodeExtraKey(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return encoded;
  }
}

/** The user a trusted front proxy asserted; undefined when it sent no username (→ not authenticated this way). */
export function userFromHeaders(req: IncomingMessage, config: RequestHeaderConfig): UserInfo | undefined {
  const username = firstHeader(req, config.usernameHeaders);
  if (!username) return undefined;
  const uid = firstHeader(req, config.uidHeaders);
  const groups = config.groupHeaders.flatMap((name) => headerValues(req, name)).filter((g) => g !== '');
  const extra: Record<string, string[]> = {};
  const prefixes = config.extraHeaderPrefixes.map((p) => p.toLowerCase());
  for (const [header, values] of Object.entries(req.headersDistinct)) {
    const prefix = prefixes.find((p) => header.startsWith(p));
    if (!prefix || !values) continue;
    const key = decodeExtraKey(header.slice(prefix.length)).toLowerCase();
    if (key === '') continue;
    (extra[key] ??= []).push(...values);
  }
  return { username, ...(uid ? { uid } : {}), groups, extra };
}

export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization?.trim();
  if (!header) return undefined;
  const [scheme, token] = header.split(' ', 3);
  if (scheme?.toLowerCase() !== 'bearer' || !token) return undefined;
  return token;
}

export interface AuthenticatorOptions {
  /** The current configuration (it changes when the ConfigMap or CA files change). */
  config: () => AuthenticationConfig;
  kube?: Pick<KubeClientFacade, 'tokenReview'>;
  log: Logger;
  cacheTtlMs: number;
}

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const { log, kube } = options;
  const tokens = new TtlCache<TokenReviewResult>(options.cacheTtlMs);
  let warnedNoKube = false;

  function byFrontProxy(req: IncomingMessage, chain: ReturnType<typeof peerCertificates>, rh: RequestHeaderConfig): UserInfo | undefined {
    const verified = verifyClientChain(chain, rh.ca.certificates);
    if (!verified.ok) return undefined;
    const { commonName } = subjectNames(verified.leaf);
    if (rh.allowedNames.length > 0 && !rh.allowedNames.includes(commonName)) {
      log.debug({ commonName, allowedNames: rh.allowedNames }, 'front-proxy certificate CN not in requestheader-allowed-names');
      return undefined;
    }
    const user = userFromHeaders(req, rh);
    if (!user) log.debug({ commonName }, 'front-proxy certificate without a username header');
    return user;
  }

  function byClientCertificate(chain: ReturnType<typeof peerCertificates>, config: AuthenticationConfig): UserInfo | undefined {
    if (!config.clientCA) return undefined;
    const verified = verifyClientChain(chain, config.clientCA.certificates);
    if (!verified.ok) {
      log.debug({ reason: verified.reason }, 'client certificate rejected');
      return undefined;
    }
    const { commonName, organizations } = subjectNames(verified.leaf);
    if (!commonName) return undefined;
    return { username: commonName, groups: organizations, extra: {} };
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
      const chain = peerCertificates(req);
      let user: UserInfo | undefined;
      if (chain.length > 0) {
        if (config.requestHeader) user = byFrontProxy(req, chain, config.requestHeader);
        user ??= byClientCertificate(chain, config);
      }
      if (!user) {
        const token = bearerToken(req);
        if (token) user = await byToken(token);
      }
      return user ? withAuthenticatedGroup(user) : null;
    },
  };
}
