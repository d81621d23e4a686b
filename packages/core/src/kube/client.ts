/**
 * The few kube-apiserver calls the webhook makes, behind a small facade so the rest of the code (auth,
 * secrets, solvers) never sees Kubernetes client types and can be tested against the stub in
 * `testing/kube-stub.ts` or a fake object. Plain HTTPS calls over `connection.ts` (see there why).
 */
import type { AuthorizationAttributes, Decision, UserInfo } from '../auth/types.js';
import { loadKubeConnection } from './connection.js';
import { KubeApiError, toKubeApiError } from './errors.js';
import { watchObject, type WatchHandle } from './watch.js';

export { KubeApiError } from './errors.js';
export type { WatchHandle } from './watch.js';

export interface KubeConfigMap {
  namespace: string;
  name: string;
  resourceVersion: string;
  data: Record<string, string>;
}

export interface KubeSecret {
  namespace: string;
  name: string;
  resourceVersion: string;
  type: string | undefined;
  /** Values base64-encoded, exactly as the API returns them (decode at the point of use). */
  data: Record<string, string>;
}

export interface TokenReviewResult {
  authenticated: boolean;
  user?: UserInfo;
  /** Audiences the token is valid for (when the API server reports them). */
  audiences?: string[];
  /** Why the token was not authenticated, as reported by kube-apiserver. */
  error?: string;
}

export interface ServiceAccountToken {
  token: string;
  expiresAt: Date;
}

export interface WatchConfigMapOptions {
  /** Re-read the object this often even while a watch is open (missed events, silent hangs). Default 30 s. */
  resyncMs?: number;
  /** Called for failed reads/watches; the watcher keeps retrying with backoff. */
  onError?: (err: KubeApiError) => void;
}

/**
 * Every method throws `KubeApiError` (with `.status`, 0 when no response arrived) on failure.
 */
export interface KubeClientFacade {
  /** kube-apiserver URL, for logs. */
  readonly server: string;
  tokenReview(token: string, options?: { audiences?: string[] }): Promise<TokenReviewResult>;
  subjectAccessReview(user: UserInfo, attributes: AuthorizationAttributes): Promise<Decision>;
  getConfigMap(namespace: string, name: string): Promise<KubeConfigMap>;
  /**
   * Calls `onChange` with the current object once read, then on every change (`null` = does not exist).
   * Uses a watch, falls back to re-reading every `resyncMs` if watching fails.
   */
  watchConfigMap(
    namespace: string,
    name: string,
    onChange: (configMap: KubeConfigMap | null) => void,
    options?: WatchConfigMapOptions,
  ): WatchHandle;
  getSecret(namespace: string, name: string): Promise<KubeSecret>;
  /** TokenRequest (`POST .../serviceaccounts/<name>/token`): a short-lived, audience-bound token. */
  createServiceAccountToken(
    namespace: string,
    serviceAccount: string,
    options: { audiences: string[]; expirationSeconds?: number },
  ): Promise<ServiceAccountToken>;
}

export interface KubeClientOptions {
  /**
   * Path to a kubeconfig file. Without it: in-cluster config when `KUBERNETES_SERVICE_HOST` is set,
   * else `$KUBECONFIG` / `~/.kube/config`.
   */
  kubeconfig?: string;
  /** Per-call timeout. Default 10 s. */
  requestTimeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** The parts of the API objects read here. */
interface ObjectMeta {
  metadata?: { namespace?: string; name?: string; resourceVersion?: string };
}
type ConfigMapObject = ObjectMeta & { data?: Record<string, string> };
type SecretObject = ObjectMeta & { type?: string; data?: Record<string, string> };
interface TokenReviewObject {
  status?: {
    authenticated?: boolean;
    user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
    audiences?: string[];
    error?: string;
  };
}
interface SubjectAccessReviewObject {
  status?: { allowed?: boolean; denied?: boolean; reason?: string; evaluationError?: string };
}
interface TokenRequestObject {
  status?: { token?: string; expirationTimestamp?: string };
}

function toConfigMap(obj: ConfigMapObject, fallbackNs: string, fallbackName: string): KubeConfigMap {
  return {
    namespace: obj.metadata?.namespace ?? fallbackNs,
    name: obj.metadata?.name ?? fallbackName,
    resourceVersion: obj.metadata?.resourceVersion ?? '',
    data: { ...(obj.data ?? {}) },
  };
}

const segment = encodeURIComponent;

export function createKubeClient(options: KubeClientOptions = {}): KubeClientFacade {
  const api = loadKubeConnection(options.kubeconfig);
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const get = <T>(operation: string, path: string) => api.json<T>(operation, 'GET', path, { timeoutMs });
  const create = <T>(operation: string, path: string, body: unknown) => api.json<T>(operation, 'POST', path, { body, timeoutMs });

  const getConfigMap = async (namespace: string, name: string): Promise<KubeConfigMap> => {
    const cm = await get<ConfigMapObject>(`get configmap ${namespace}/${name}`, `/api/v1/namespaces/${segment(namespace)}/configmaps/${segment(name)}`);
    return toConfigMap(cm, namespace, name);
  };

  return {
    server: api.server,

    async tokenReview(token, opts = {}) {
      const review = await create<TokenReviewObject>('create TokenReview', '/apis/authentication.k8s.io/v1/tokenreviews', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token, ...(opts.audiences ? { audiences: opts.audiences } : {}) },
      });
      const status = review.status ?? {};
      const u = status.user;
      return {
        authenticated: status.authenticated === true && !!u?.username,
        ...(u?.username
          ? { user: { username: u.username, ...(u.uid ? { uid: u.uid } : {}), groups: u.groups ?? [], extra: u.extra ?? {} } }
          : {}),
        ...(status.audiences ? { audiences: status.audiences } : {}),
        ...(status.error ? { error: status.error } : {}),
      };
    },

    async subjectAccessReview(user, attributes) {
      const review = await create<SubjectAccessReviewObject>('create SubjectAccessReview', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: user.username,
          groups: user.groups,
          extra: user.extra,
          ...(user.uid ? { uid: user.uid } : {}),
          ...(attributes.kind === 'resource'
            ? {
                resourceAttributes: {
                  verb: attributes.verb,
                  group: attributes.group,
                  version: attributes.version,
                  resource: attributes.resource,
                },
              }
            : { nonResourceAttributes: { path: attributes.path, verb: attributes.verb } }),
        },
      });
      const status = review.status;
      const reason = [status?.reason, status?.evaluationError].filter((s): s is string => !!s).join('; ');
      return { allowed: status?.allowed === true && status?.denied !== true, ...(reason ? { reason } : {}) };
    },

    getConfigMap,

    watchConfigMap(namespace, name, onChange, opts = {}) {
      const operation = `watch configmap ${namespace}/${name}`;
      return watchObject<KubeConfigMap>({
        get: () => getConfigMap(namespace, name),
        watch: (resourceVersion, onEvent, onDone) => {
          const query = new URLSearchParams({ watch: 'true', fieldSelector: `metadata.name=${name}`, allowWatchBookmarks: 'true' });
          if (resourceVersion) query.set('resourceVersion', resourceVersion);
          return api.stream(
            operation,
            `/api/v1/namespaces/${segment(namespace)}/configmaps?${query}`,
            (event: { type?: string; object?: any }) => {
              const { type, object } = event;
              if (type === 'ERROR') onEvent({ type, error: toKubeApiError({ code: object?.code ?? 500, body: object }, operation) });
              else if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') onEvent({ type, object: toConfigMap(object ?? {}, namespace, name) });
              else if (type === 'BOOKMARK') onEvent({ type, resourceVersion: object?.metadata?.resourceVersion });
            },
            onDone,
          );
        },
        onChange,
        resyncMs: opts.resyncMs ?? 30_000,
        ...(opts.onError ? { onError: opts.onError } : {}),
      });
    },

    async getSecret(namespace, name) {
      const secret = await get<SecretObject>(`get secret ${namespace}/${name}`, `/api/v1/namespaces/${segment(namespace)}/secrets/${segment(name)}`);
      return {
        namespace: secret.metadata?.namespace ?? namespace,
        name: secret.metadata?.name ?? name,
        resourceVersion: secret.metadata?.resourceVersion ?? '',
        type: secret.type,
        data: { ...(secret.data ?? {}) },
      };
    },

    async createServiceAccountToken(namespace, serviceAccount, opts) {
      const operation = `create token for serviceaccount ${namespace}/${serviceAccount}`;
      const tr = await create<TokenRequestObject>(operation, `/api/v1/namespaces/${segment(namespace)}/serviceaccounts/${segment(serviceAccount)}/token`, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { audiences: opts.audiences, ...(opts.expirationSeconds ? { expirationSeconds: opts.expirationSeconds } : {}) },
      });
      const token = tr.status?.token;
      if (!token) throw new KubeApiError(`${operation}: response has no token`, 500);
      const exp = tr.status?.expirationTimestamp;
      return { token, expiresAt: new Date(exp ?? Date.now()) };
    },
  };
}
