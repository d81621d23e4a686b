/**
 * `createDelegatingAuth`: the authentication/authorization an aggregated API server delegates to
 * kube-apiserver (webhook-protocol.md §5). It follows ConfigMap kube-system/extension-apiserver-authentication
 * (and the optional CA files) so a CA rotation takes effect without a restart, and tells the TLS layer
 * which client CAs to advertise.
 */
import { readFile } from 'node:fs/promises';
import { unwatchFile, watchFile } from 'node:fs';
import type { KubeClientFacade, KubeConfigMap } from '../kube/client.js';
import type { KubeApiError } from '../kube/errors.js';
import type { Logger } from '../solver/contract.js';
import {
  AUTH_CONFIGMAP_NAME,
  AUTH_CONFIGMAP_NAMESPACE,
  buildAuthenticationConfig,
  caBundleOf,
  sourcesFromConfigMap,
  type AuthenticationConfig,
  type AuthenticationSources,
} from './authn-config.js';
import { createAuthenticator } from './authenticator.js';
import { createAuthorizer } from './authorizer.js';
import type { Authenticator, Authorizer, ClientCaSource } from './types.js';

export interface DelegatingAuthOverrides {
  /** `--client-ca-file`: replaces the ConfigMap's `client-ca-file`. */
  clientCaFile?: string;
  /** `--requestheader-client-ca-file`: replaces the ConfigMap's `requestheader-client-ca-file`. */
  requestheaderClientCaFile?: string;
  /** `--requestheader-allowed-names`: replaces the ConfigMap's list (an empty array means "any CN"). */
  requestheaderAllowedNames?: string[];
}

export interface DelegatingAuthOptions {
  /** Without it: no TokenReview (bearer tokens are not accepted), and only system:masters is authorized. */
  kube?: KubeClientFacade;
  overrides?: DelegatingAuthOverrides;
  log: Logger;
  /** TTL of the TokenReview and SubjectAccessReview caches. Default 10 s. */
  cacheTtlMs?: number;
  /** How often the ConfigMap is re-read even while watched. Default 30 s. */
  resyncMs?: number;
  /** How often the override CA files are checked for changes. Default 10 s. */
  fileCheckIntervalMs?: number;
}

export interface DelegatingAuth {
  authenticator: Authenticator;
  authorizer: Authorizer;
  clientCAs: ClientCaSource;
  /** Resolves once the first configuration is loaded; rejects with an actionable message if it cannot be. */
  ready: Promise<void>;
  /**
   * True once a configuration is loaded, including when a retry succeeded after `ready` rejected.
   * Fits `createWebhookServer({ auth: { ..., ready: auth.isReady } })`.
   */
  isReady(): boolean;
  /** Stops watching the ConfigMap and CA files. */
  close(): void;
}

const EMPTY: AuthenticationConfig = { clientCA: null, requestHeader: null };

function describeConfigMapError(err: KubeApiError): string {
  const ref = `ConfigMap ${AUTH_CONFIGMAP_NAMESPACE}/${AUTH_CONFIGMAP_NAME}`;
  if (err.status === 403) {
    return (
      `cannot read ${ref}: forbidden. Bind the webhook's ServiceAccount to the Role ` +
      `extension-apiserver-authentication-reader in ${AUTH_CONFIGMAP_NAMESPACE} (${err.message})`
    );
  }
  return `cannot read ${ref}: ${err.message}`;
}

export function createDelegatingAuth(options: DelegatingAuthOptions): DelegatingAuth {
  const log = options.log.child({ component: 'delegating-auth' });
  const overrides = options.overrides ?? {};
  const cacheTtlMs = options.cacheTtlMs ?? 10_000;
  const needConfigMap = !(overrides.clientCaFile && overrides.requestheaderClientCaFile);

  let config: AuthenticationConfig = EMPTY;
  let fromConfigMap: AuthenticationSources = {};
  let fromFiles: AuthenticationSources = {};
  let bundle = '';
  let closed = false;
  /** True once a configuration was loaded (even if `ready` rejected earlier and a retry succeeded). */
  let usable = false;
  const listeners = new Set<() => void>();
  const stops: Array<() => void> = [];

  /** Switches to the configuration built from both sources (callers validated them) and notifies on a CA change. */
  function apply(reason: string): void {
    const next = buildAuthenticationConfig(fromConfigMap, fromFiles);
    config = next;
    const nextBundle = caBundleOf(next);
    log.info(
      {
        reason,
        clientCA: next.clientCA?.certificates.length ?? 0,
        requestheaderCA: next.requestHeader?.ca.certificates.length ?? 0,
        allowedNames: next.requestHeader?.allowedNames,
      },
      'authentication configuration loaded',
    );
    if (nextBundle !== bundle) {
      bundle = nextBundle;
      for (const listener of listeners) {
        try {
          listener();
        } catch (err) {
          log.error({ err: (err as Error).message }, 'client CA change listener failed');
        }
      }
    }
  }

  async function readOverrideFiles(): Promise<AuthenticationSources> {
    const out: AuthenticationSources = {};
    const read = async (path: string, flag: string) => {
      try {
        return await readFile(path, 'utf8');
      } catch (err) {
        throw new Error(`cannot read ${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    };
    if (overrides.clientCaFile) out.clientCaPem = await read(overrides.clientCaFile, '--client-ca-file');
    if (overrides.requestheaderClientCaFile) {
      out.requestheaderCaPem = await read(overrides.requestheaderClientCaFile, '--requestheader-client-ca-file');
    }
    if (overrides.requestheaderAllowedNames) out.allowedNames = [...overrides.requestheaderAllowedNames];
    return out;
  }

  async function loadFiles(reason: string): Promise<void> {
    const next = await readOverrideFiles();
    buildAuthenticationConfig(fromConfigMap, next); // throws on a bad PEM before we switch
    fromFiles = next;
    apply(reason);
  }

  function watchOverrideFiles(): void {
    const interval = options.fileCheckIntervalMs ?? 10_000;
    for (const file of [overrides.clientCaFile, overrides.requestheaderClientCaFile]) {
      if (!file) continue;
      const onStat = () =>
        void loadFiles(`file ${file} changed`).catch((err: Error) => {
          log.warn({ file, err: err.message }, 'CA file change ignored: keeping the previous configuration');
        });
      watchFile(file, { interval, persistent: false }, onStat);
      stops.push(() => unwatchFile(file, onStat));
    }
  }

  function startConfigMapWatch(kube: KubeClientFacade, settle: (err?: Error) => void): void {
    let loaded = false;
    const handle = kube.watchConfigMap(
      AUTH_CONFIGMAP_NAMESPACE,
      AUTH_CONFIGMAP_NAME,
      (cm: KubeConfigMap | null) => {
        if (!cm && loaded) {
          // kube-apiserver recreates it; a deletion is no CA rotation, so do not drop trust meanwhile.
          log.warn({}, `ConfigMap ${AUTH_CONFIGMAP_NAMESPACE}/${AUTH_CONFIGMAP_NAME} was deleted: keeping the previous configuration`);
          return;
        }
        try {
          const next = cm ? sourcesFromConfigMap(cm.data) : {};
          buildAuthenticationConfig(next, fromFiles); // validate before switching
          fromConfigMap = next;
          if (!cm) log.warn({}, `ConfigMap ${AUTH_CONFIGMAP_NAMESPACE}/${AUTH_CONFIGMAP_NAME} not found: only flag-provided CAs are used`);
          apply(cm ? `ConfigMap resourceVersion ${cm.resourceVersion}` : 'ConfigMap absent');
          loaded = true;
          usable = true;
          settle();
        } catch (err) {
          log.error({ err: (err as Error).message }, 'invalid authentication ConfigMap ignored: keeping the previous configuration');
          if (!loaded) settle(err as Error);
        }
      },
      {
        ...(options.resyncMs ? { resyncMs: options.resyncMs } : {}),
        onError: (err) => {
          const message = describeConfigMapError(err);
          if (!loaded) settle(new Error(message));
          else log.warn({ status: err.status }, `${message}; keeping the previous configuration`);
        },
      },
    );
    stops.push(() => handle.close());
  }

  const ready = (async () => {
    await loadFiles('flags');
    watchOverrideFiles();
    if (needConfigMap && !options.kube) {
      log.warn({}, 'no Kubernetes API configured: client certificates are checked only against the CA files given by flags');
    }
    if (!needConfigMap || !options.kube) {
      usable = true;
      return;
    }
    const kube = options.kube;
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      startConfigMapWatch(kube, (err) => {
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve();
      });
    });
    usable = true;
  })();
  // Callers may never await `ready`; keep a failure from becoming an unhandled rejection.
  ready.catch((err: Error) => {
    if (!closed) log.error({ err: err.message }, 'authentication configuration not loaded');
  });

  const authenticator = createAuthenticator({
    config: () => config,
    ...(options.kube ? { kube: options.kube } : {}),
    log,
    cacheTtlMs,
  });

  return {
    authenticator: {
      async authenticate(req) {
        // A request before the CAs are known must not be judged against an empty configuration.
        if (!usable) await ready;
        return authenticator.authenticate(req);
      },
    },
    authorizer: createAuthorizer({ ...(options.kube ? { kube: options.kube } : {}), log, cacheTtlMs }),
    clientCAs: {
      caBundle: () => bundle,
      onChange(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
    ready,
    isReady: () => usable,
    close() {
      closed = true;
      for (const stop of stops.splice(0)) stop();
    },
  };
}
