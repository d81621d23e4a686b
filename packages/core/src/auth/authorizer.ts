/**
 * Delegated authorization: ask kube-apiserver with a SubjectAccessReview, cache allow and deny for a few
 * seconds (k8s.io/apiserver's defaults), and let system:masters through without asking, as the Go
 * framework does.
 */
import type { KubeClientFacade } from '../kube/client.js';
import type { Logger } from '../solver/contract.js';
import { TtlCache } from './ttl-cache.js';
import type { AuthorizationAttributes, Authorizer, Decision, UserInfo } from './types.js';

export const PRIVILEGED_GROUP = 'system:masters';

export interface AuthorizerOptions {
  kube?: Pick<KubeClientFacade, 'subjectAccessReview'>;
  log: Logger;
  cacheTtlMs: number;
}

function cacheKey(user: UserInfo, attributes: AuthorizationAttributes): string {
  const extra = Object.keys(user.extra)
    .sort()
    .map((k) => [k, user.extra[k]]);
  return JSON.stringify([user.username, user.uid ?? '', [...user.groups].sort(), extra, attributes]);
}

export function createAuthorizer(options: AuthorizerOptions): Authorizer {
  const decisions = new TtlCache<Decision>(options.cacheTtlMs);
  const { kube, log } = options;
  return {
    async authorize(user, attributes) {
      if (user.groups.includes(PRIVILEGED_GROUP)) return { allowed: true, reason: `member of ${PRIVILEGED_GROUP}` };
      if (!kube) return { allowed: false, reason: 'no Kubernetes API configured to delegate authorization to' };
      const decision = await decisions.getOrLoad(cacheKey(user, attributes), () => kube.subjectAccessReview(user, attributes));
      if (!decision.allowed) log.debug({ user: user.username, attributes, reason: decision.reason }, 'SubjectAccessReview denied');
      return decision;
    },
  };
}
