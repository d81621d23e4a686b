/**
 * The few kube-apiserver calls the webhook makes, behind a small facade so the rest of the code (auth,
 * secrets, solvers) never sees @kubernetes/client-node's generated types and can be tested against the
 * stub in `testing/kube-stub.ts` or a fake object.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  KubeConfig,
  Watch,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import type { AuthorizationAttributes, Decision, UserInfo } from '../auth/types.js';
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
  /** Per-call timeout (client-node sets none). Default 10 s. */
  requestTimeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export function loadKubeConfig(kubeconfig?: string): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig) {
    if (!existsSync(kubeconfig)) throw new Error(`kubeconfig file ${kubeconfig} does not exist`);
    kc.loadFromFile(kubeconfig);
  } else if (process.env.KUBERNETES_SERVICE_HOST) {
    kc.loadFromCluster();
  } else if (process.env.KUBECONFIG || existsSync(join(homedir(), '.kube', 'config'))) {
    kc.loadFromDefault();
  } else {
    throw new Error('no Kubernetes configuration: not running in a cluster, no --kubeconfig, no $KUBECONFIG or ~/.kube/config');
  }
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig ${kubeconfig ?? ''} has no current cluster`.replace('  ', ' '));
  return kc;
}

function toConfigMap(obj: V1ConfigMap | Record<string, any>, fallbackNs: string, fallbackName: string): KubeConfigMap {
  return {
    namespace: obj.metadata?.namespace ?? fallbackNs,
    name: obj.metadata?.name ?? fallbackName,
    resourceVersion: obj.metadata?.resourceVersion ?? '',
    data: { ...(obj.data ?? {}) },
  };
}

/** client-node has no cancellation for typed calls: bound the wait so a hung API server cannot stall requests. */
async function withTimeout<T>(operation: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new KubeApiError(`${operation}: no answer from kube-apiserver within ${timeoutMs} ms`, 0)), timeoutMs);
        timer.unref();
      }),
    ]);
  } catch (err) {
    throw toKubeApiError(err, operation);
  } finally {
    clearTimeout(timer);
  }
}

export function createKubeClient(options: KubeClientOptions = {}): KubeClientFacade {
  const kc = loadKubeConfig(options.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const authn = kc.makeApiClient(AuthenticationV1Api);
  const authz = kc.makeApiClient(AuthorizationV1Api);
  const watcher = new Watch(kc);
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const call = <T>(operation: string, fn: () => Promise<T>) => withTimeout(operation, timeoutMs, fn);

  const getConfigMap = async (namespace: string, name: string): Promise<KubeConfigMap> => {
    const cm = await call(`get configmap ${namespace}/${name}`, () => core.readNamespacedConfigMap({ name, namespace }));
    return toConfigMap(cm, namespace, name);
  };

  return {
    server: kc.getCurrentCluster()!.server,

    async tokenReview(token, opts = {}) {
      const review = await call('create TokenReview', () =>
        authn.createTokenReview({
          body: {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenReview',
            spec: { token, ...(opts.audiences ? { audiences: opts.audiences } : {}) },
          },
        }),
      );
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
      const review = await call('create SubjectAccessReview', () =>
        authz.createSubjectAccessReview({
          body: {
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
          },
        }),
      );
      const status = review.status;
      const reason = [status?.reason, status?.evaluationError].filter((s): s is string => !!s).join('; ');
      return { allowed: status?.allowed === true && status?.denied !== true, ...(reason ? { reason } : {}) };
    },

    getConfigMap,

    watchConfigMap(namespace, name, onChange, opts = {}) {
      return watchObject<KubeConfigMap>({
        get: () => getConfigMap(namespace, name),
        watch: async (resourceVersion, onEvent, onDone) =>
          watcher.watch(
            `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`,
            { fieldSelector: `metadata.name=${name}`, resourceVersion, allowWatchBookmarks: true },
            (type, obj) => {
              if (type === 'ERROR') onEvent({ type, error: toKubeApiError({ code: obj?.code ?? 500, body: obj }, `watch configmap ${namespace}/${name}`) });
              else if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED')
                onEvent({ type, object: toConfigMap(obj, namespace, name) });
              else if (type === 'BOOKMARK') onEvent({ type, resourceVersion: obj?.metadata?.resourceVersion });
            },
            (err) => onDone(err ? toKubeApiError(err, `watch configmap ${namespace}/${name}`) : null),
          ),
        onChange,
        resyncMs: opts.resyncMs ?? 30_000,
        ...(opts.onError ? { onError: opts.onError } : {}),
      });
    },

    async getSecret(namespace, name) {
      const secret = await call(`get secret ${namespace}/${name}`, () => core.readNamespacedSecret({ name, namespace }));
      return {
        namespace: secret.metadata?.namespace ?? namespace,
        name: secret.metadata?.name ?? name,
        resourceVersion: secret.metadata?.resourceVersion ?? '',
        type: secret.type,
        data: { ...(secret.data ?? {}) },
      };
    },

    async createServiceAccountToken(namespace, serviceAccount, opts) {
      const tr = await call(`create token for serviceaccount ${namespace}/${serviceAccount}`, () =>
        core.createNamespacedServiceAccountToken({
          name: serviceAccount,
          namespace,
          body: {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenRequest',
            spec: { audiences: opts.audiences, ...(opts.expirationSeconds ? { expirationSeconds: opts.expirationSeconds } : {}) },
          },
        }),
      );
      const token = tr.status?.token;
      if (!token) throw new KubeApiError(`create token for serviceaccount ${namespace}/${serviceAccount}: response has no token`, 500);
      const exp = tr.status?.expirationTimestamp;
      return { token, expiresAt: exp instanceof Date ? exp : new Date(exp ?? Date.now()) };
    },
  };
}
