/**
 * `dns01-webhook serve`: the aggregated API server as it runs in the cluster. Flag names follow the Go
 * framework (k8s.io/apiserver) so charts and docs written for cert-manager/webhook-example still apply.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { DelegatingAuth } from '../auth/delegating.js';
import type { KubeClientFacade } from '../kube/client.js';
import { Economy, type RateSetting } from '../economy/economy.js';
import { parseRate } from '../economy/rate-limit.js';
import { createLogger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { createMetricsServer, type MetricsServer } from '../server/metrics-server.js';
import { createWebhookServer, type TlsSource } from '../server/webhook-server.js';
import { DEFAULT_SOLVER_PACKAGES, loadSolverPackages, SolverRegistry } from '../solver/registry.js';
import { solverPackageList } from './solvers.js';
import { parseFlags, port, seconds, UsageError } from './usage.js';

const COMMAND = 'serve';
const DEFAULT_SHUTDOWN_GRACE_S = 20;

export const SERVE_USAGE = `Usage: dns01-webhook serve --group-name <group> [flags]

Runs the HTTPS aggregated API server that cert-manager's DNS-01 webhook solver calls (through kube-apiserver).

Flags:
  --group-name <group>                 API group of the APIService v1alpha1.<group> (env GROUP_NAME); required
  --secure-port <port>                 HTTPS port (default 8443)
  --bind-address <ip>                  address for the HTTPS and metrics ports (default 0.0.0.0)
  --tls-cert-file <file>               serving certificate (PEM); reloaded when the mounted Secret rotates
  --tls-private-key-file <file>        its private key; without both files a self-signed certificate is used
  --kubeconfig <file>                  kube-apiserver access (default: in-cluster, then $KUBECONFIG)
  --solver-packages <a,b>              solver modules to load: npm names or paths
                                       (default ${DEFAULT_SOLVER_PACKAGES.join(',')})
  --metrics-port <port>                plain-HTTP /metrics port, 0 disables (default 8080)
  --log-level <level>                  trace, debug, info, warn, error (default info)
  --client-ca-file <file>              trust client certificates from this CA instead of the ConfigMap's
  --requestheader-client-ca-file <f>   front-proxy CA instead of the ConfigMap's
  --requestheader-allowed-names <a,b>  front-proxy certificate CNs allowed (default: the ConfigMap's list)
  --challenge-timeout <seconds>        time a solver gets per challenge (default 45, below kube-apiserver's 60)
  --rate-limit <solver=N/Ts,...>       replace a solver's documented per-credential quota, e.g. route53=10/1s,
                                       cloudflare=1200/5m; "<solver>=off" disables its limits (default: documented)
  --rate-limit-share <fraction>        share of every quota this replica uses, 0 < f ≤ 1 (default 1); with N
                                       replicas behind one Service use 1/N (the chart does)
  --shutdown-grace <seconds>           on SIGTERM, how long in-flight challenges may finish (default ${DEFAULT_SHUTDOWN_GRACE_S})
  --disable-http2-serving              offer only HTTP/1.1 on the HTTPS port (default: HTTP/2 too, which
                                       kube-apiserver's proxy prefers: one connection instead of one per request)
  -h, --help                           show this help
`;

const FLAGS = {
  'group-name': { type: 'string' },
  'secure-port': { type: 'string' },
  'bind-address': { type: 'string' },
  'tls-cert-file': { type: 'string' },
  'tls-private-key-file': { type: 'string' },
  kubeconfig: { type: 'string' },
  'solver-packages': { type: 'string' },
  'metrics-port': { type: 'string' },
  'log-level': { type: 'string' },
  'client-ca-file': { type: 'string' },
  'requestheader-client-ca-file': { type: 'string' },
  'requestheader-allowed-names': { type: 'string' },
  'challenge-timeout': { type: 'string' },
  'shutdown-grace': { type: 'string' },
  'rate-limit': { type: 'string' },
  'rate-limit-share': { type: 'string' },
  'disable-http2-serving': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
/** DNS-1123 subdomain: the APIService is named v1alpha1.<group>. */
const GROUP_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/;

export interface ServeConfig {
  groupName: string;
  securePort: number;
  bindAddress: string;
  tls: TlsSource;
  kubeconfig: string | undefined;
  solverPackages: string[];
  metricsPort: number;
  logLevel: string;
  clientCaFile: string | undefined;
  requestheaderClientCaFile: string | undefined;
  requestheaderAllowedNames: string[] | undefined;
  challengeTimeoutMs: number | undefined;
  shutdownGraceMs: number;
  rateLimitOverrides: Record<string, RateSetting>;
  rateLimitShare: number;
  http2: boolean;
}

/** `route53=10/1s,cloudflare=1200/5m,dnspod=off` → overrides by solver name. */
export function parseRateLimitFlag(value: string | undefined): Record<string, RateSetting> {
  const out: Record<string, RateSetting> = {};
  for (const item of (value ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z0-9-]+)=(.+)$/.exec(item);
    if (!m) throw new UsageError(`--rate-limit takes solver=N/Ts items, e.g. route53=10/1s or cloudflare=off; got "${item}"`, COMMAND);
    if (m[2] === 'off') out[m[1]!] = 'off';
    else {
      try {
        out[m[1]!] = parseRate(m[2]!);
      } catch (err) {
        throw new UsageError(`--rate-limit ${m[1]}: ${(err as Error).message}`, COMMAND);
      }
    }
  }
  return out;
}

/** Flags → configuration; every mistake is a UsageError naming the flag (exit code 2). */
export function parseServeFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeConfig | 'help' {
  const v = parseFlags(COMMAND, argv, FLAGS);
  if (v.help) return 'help';
  const groupName = (v['group-name'] ?? env.GROUP_NAME ?? '').trim();
  if (groupName === '') throw new UsageError('--group-name (or env GROUP_NAME) is required: the API group of your APIService, e.g. acme.example.com', COMMAND);
  if (!GROUP_NAME.test(groupName)) {
    throw new UsageError(`--group-name "${groupName}" is not a DNS subdomain with at least one dot (e.g. acme.example.com)`, COMMAND);
  }
  const certFile = v['tls-cert-file'];
  const keyFile = v['tls-private-key-file'];
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError('--tls-cert-file and --tls-private-key-file must be given together', COMMAND);
  }
  const logLevel = v['log-level'] ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`, COMMAND);
  const bindAddress = v['bind-address'] ?? '0.0.0.0';
  if (isIP(bindAddress) === 0) throw new UsageError(`--bind-address must be an IP address (e.g. 0.0.0.0 or ::), got "${bindAddress}"`, COMMAND);
  const allowed = v['requestheader-allowed-names'];
  const timeout = v['challenge-timeout'];
  return {
    groupName,
    securePort: port(COMMAND, 'secure-port', v['secure-port'], 8443),
    bindAddress,
    tls:
      certFile !== undefined && keyFile !== undefined
        ? { certFile, keyFile }
        : { selfSigned: ['localhost', '127.0.0.1', '::1', hostname()] },
    kubeconfig: v.kubeconfig,
    solverPackages: solverPackageList(v['solver-packages']),
    metricsPort: port(COMMAND, 'metrics-port', v['metrics-port'], 8080),
    logLevel,
    clientCaFile: v['client-ca-file'],
    requestheaderClientCaFile: v['requestheader-client-ca-file'],
    // Empty means "not set" (use the ConfigMap's list), never "any CN": an empty chart value must not widen trust.
    requestheaderAllowedNames: allowed === undefined || allowed.trim() === '' ? undefined : allowed.split(',').map((s) => s.trim()).filter((s) => s !== ''),
    challengeTimeoutMs: timeout === undefined ? undefined : seconds(COMMAND, 'challenge-timeout', timeout, 45) * 1000,
    shutdownGraceMs: seconds(COMMAND, 'shutdown-grace', v['shutdown-grace'], DEFAULT_SHUTDOWN_GRACE_S) * 1000,
    rateLimitOverrides: parseRateLimitFlag(v['rate-limit']),
    rateLimitShare: rateLimitShare(v['rate-limit-share']),
    http2: v['disable-http2-serving'] !== true,
  };
}

function rateLimitShare(value: string | undefined): number {
  if (value === undefined) return 1;
  const n = Number(value);
  if (!(n > 0 && n <= 1)) throw new UsageError(`--rate-limit-share must be a number in (0, 1], e.g. 0.5 for two replicas; got "${value}"`, COMMAND);
  return n;
}

/** Waits for SIGTERM or SIGINT (once), then removes the handlers. */
function nextSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(signal);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

/** Runs until SIGTERM/SIGINT, then drains and resolves (the caller exits 0). Throws UsageError on bad flags. */
export async function runServe(argv: string[]): Promise<void> {
  const config = parseServeFlags(argv);
  if (config === 'help') {
    process.stdout.write(SERVE_USAGE);
    return;
  }
  const log = createLogger({ level: config.logLevel, buffered: true });
  const metrics = new Metrics({ processMetrics: true });
  const registry = new SolverRegistry();
  await loadSolverPackages(registry, config.solverPackages);
  if (registry.names().length === 0) throw new Error(`no solvers loaded from ${config.solverPackages.join(', ')}`);

  // Loaded only now: @kubernetes/client-node is heavy, and `--help` or a flag mistake should answer at once.
  const [{ createKubeClient }, { createDelegatingAuth }, { kubeSecrets }] = await Promise.all([
    import('../kube/client.js'),
    import('../auth/delegating.js'),
    import('../secrets/kube.js'),
  ]);
  let kube: KubeClientFacade;
  try {
    kube = createKubeClient(config.kubeconfig ? { kubeconfig: config.kubeconfig } : {});
  } catch (err) {
    throw new Error(`cannot reach Kubernetes (needed for TokenReview, SubjectAccessReview and Secrets): ${(err as Error).message}`, { cause: err });
  }
  const auth: DelegatingAuth = createDelegatingAuth({
    kube,
    log,
    overrides: {
      ...(config.clientCaFile ? { clientCaFile: config.clientCaFile } : {}),
      ...(config.requestheaderClientCaFile ? { requestheaderClientCaFile: config.requestheaderClientCaFile } : {}),
      ...(config.requestheaderAllowedNames ? { requestheaderAllowedNames: config.requestheaderAllowedNames } : {}),
    },
  });

  const server = createWebhookServer({
    groupName: config.groupName,
    registry,
    secretsFor: kubeSecrets(kube),
    serviceAccountTokensFor: (namespace) => ({
      createToken: (serviceAccount, options) => kube.createServiceAccountToken(namespace, serviceAccount, options),
    }),
    log,
    metrics,
    auth: {
      authenticator: auth.authenticator,
      authorizer: auth.authorizer,
      clientCAs: auth.clientCAs,
      // Not ready until the authentication configuration is loaded (a later successful retry also counts).
      ready: auth.isReady,
    },
    tls: config.tls,
    bindAddress: config.bindAddress,
    port: config.securePort,
    challengeTimeoutMs: config.challengeTimeoutMs,
    economy: new Economy({ rateLimitOverrides: config.rateLimitOverrides, rateLimitShare: config.rateLimitShare }),
    http2: config.http2,
  });
  let metricsServer: MetricsServer | undefined;
  const stopped = nextSignal();
  try {
    await server.listen();
    if (config.metricsPort !== 0) {
      metricsServer = createMetricsServer({ metrics, bindAddress: config.bindAddress, port: config.metricsPort });
      const m = await metricsServer.listen();
      log.info({ address: m.address, port: m.port }, 'metrics listening on /metrics');
    }
  } catch (err) {
    auth.close();
    await server.close(0);
    await metricsServer?.close();
    throw err;
  }

  const signal = await stopped;
  log.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down: finishing in-flight challenges');
  // The handlers are gone now: a second Ctrl-C/SIGTERM terminates at once (Node's default).
  await server.close(config.shutdownGraceMs);
  await metricsServer?.close();
  auth.close();
  log.info({}, 'stopped');
}
