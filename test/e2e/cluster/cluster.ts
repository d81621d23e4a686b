/**
 * A real, throw-away Kubernetes control plane for the e2e tier: etcd + kube-apiserver with aggregation
 * enabled, plus a network-namespace test host for extension API servers (the webhook) to run in.
 *
 * There is no kube-controller-manager: ServiceAccount tokens come from TokenRequest (createToken),
 * namespaces get no default ServiceAccount, and Endpoints/EndpointSlices are written by hand
 * (pointServiceAt). Every process dies with the test: see processes.ts and watchdog.sh.
 *
 *   const cluster = await startCluster();
 *   await cluster.kubectl(['get', 'ns']);
 *   await cluster.stop();
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { httpsGet } from './https.js';
import { createTestHost, type TestHost } from './netns.js';
import { generateClusterPki, FRONT_PROXY_CLIENT_CN, type ClusterPki } from './pki.js';
import { freePort, spawnManaged, waitUntil, type ManagedProcess } from './processes.js';

const exec = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
/** Service ClusterIPs come from the benchmark range too: nothing routes there (no kube-proxy). */
export const SERVICE_CIDR = '198.18.128.0/24';
/** The `kubernetes` Service's ClusterIP (the range's first address): pods reach kube-apiserver there (node.ts). */
export const KUBERNETES_SERVICE_IP = '198.18.128.1';
const SA_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** Where test/e2e/install/*.sh put the binaries. */
export function binDir(): string {
  return process.env.DNS01_BIN ?? join(process.env.DNS01_CACHE ?? '/var/cache/dns01-webhook', 'bin');
}

/** A cached binary, else the one on PATH. */
export function binary(name: string): string {
  const cached = join(binDir(), name);
  return existsSync(cached) ? cached : name;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (use with `-f -`). */
  input?: string;
  /** Another kubeconfig (e.g. a ServiceAccount's); default: the admin one. */
  kubeconfig?: string;
}

export interface Cluster {
  /** Temp dir with PKI, kubeconfigs and logs. */
  dir: string;
  /** kube-apiserver's URL, reachable from the host and from inside the test host. */
  server: string;
  /** Admin kubeconfig (client cert in system:masters). */
  kubeconfig: string;
  pki: ClusterPki;
  /** Cluster CA PEM (trust for `server`; also client-ca-file). */
  caPem: string;
  /** Front-proxy CA PEM (requestheader-client-ca-file). */
  frontProxyCaPem: string;
  frontProxyClientCn: string;
  /** Where extension API servers run; Endpoints point at `host.ip`. */
  host: TestHost;
  versions: { kubeApiserver: string; etcd: string };
  logs: { etcd: string; kubeApiserver: string };
  /** kube-apiserver's process id (the benchmark reads its CPU time). */
  kubeApiserverPid: number;
  /** Runs kubectl against the cluster; resolves stdout, rejects with stderr in the message. */
  kubectl(args: string[], options?: KubectlOptions): Promise<string>;
  /**
   * `kubectl apply --server-side --force-conflicts` of objects, or of YAML/JSON text (documents separated by
   * `---`; JSON documents are wrapped into a List first, since kubectl reads a stream that starts with `{` as
   * one JSON value).
   */
  apply(manifest: string | object[], options?: KubectlOptions): Promise<string>;
  /** Creates the namespace and ServiceAccount when missing (no controller makes default SAs here). */
  ensureServiceAccount(namespace: string, name: string): Promise<void>;
  /** Mints a ServiceAccount token with TokenRequest (audience: the API server). */
  createToken(namespace: string, serviceAccount: string, durationSeconds?: number): Promise<string>;
  /** Writes a kubeconfig that authenticates with `token`; returns its path. */
  writeTokenKubeconfig(name: string, token: string): string;
  /**
   * Points a Service at a server listening on `host.ip`: writes Endpoints and an EndpointSlice whose port
   * names match the Service's, so the aggregator (--enable-aggregator-routing) proxies there.
   * `targetPorts`: one port for every Service port, or container port name → number (for named targetPorts).
   */
  pointServiceAt(namespace: string, service: string, targetPorts: number | Record<string, number>): Promise<void>;
  /**
   * Writes a Service's endpoints the way the endpoints controllers do for its pods: each entry is a pod IP
   * with its container ports (name → number); `ready: false` marks a pod that is terminating (EndpointSlice
   * ready=false, serving=true, terminating=true; Endpoints notReadyAddresses). Pods with different port
   * numbers land in different EndpointSlices / Endpoints subsets; slices from an earlier call that no longer
   * have endpoints are deleted after the new ones are written.
   */
  setServiceEndpoints(namespace: string, service: string, pods: EndpointPod[]): Promise<void>;
  /** Starts a process inside the test host, stopped by stop(). */
  spawnInHost(name: string, command: string, args: string[], options?: { env?: NodeJS.ProcessEnv; cwd?: string }): ManagedProcess;
  /** Starts a process on the machine itself (e.g. a controller that only talks to kube-apiserver), stopped by stop(). */
  spawn(name: string, command: string, args: string[], options?: { env?: NodeJS.ProcessEnv; cwd?: string }): ManagedProcess;
  stop(): Promise<void>;
}

export interface EndpointPod {
  ip: string;
  /** Container port name → number, as in the pod spec (resolves the Service's named targetPorts). */
  ports: Record<string, number>;
  ready: boolean;
}

export interface ClusterOptions {
  /** The kube-apiserver binary (default: the cached one, see binary()). */
  kubeApiserver?: string;
  /** Keep the temp dir after stop() (logs, PKI) for debugging. Default: env DNS01_E2E_KEEP=1. */
  keep?: boolean;
  /** Time kube-apiserver gets to become ready. */
  startTimeoutMs?: number;
  /**
   * Configure kube-apiserver for a node (cluster/node.ts runs kubelet & co. against it): the Node authorizer
   * and NodeRestriction admission, the ServiceAccount admission plugin (pods get their token volume), and a
   * client certificate for kube-apiserver → kubelet (logs, exec).
   */
  nodes?: boolean;
}

async function versionOf(command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await exec(command, args);
    return stdout.split('\n')[0]!.trim();
  } catch (err) {
    throw new Error(`${command} ${args.join(' ')} failed: ${(err as Error).message}. Run: bash test/e2e/install/all.sh`);
  }
}

export function kubeconfigJson(server: string, caPem: string, user: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'e2e', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: 'e2e', user }],
    contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'e2e' } }],
    'current-context': 'e2e',
  }, null, 2);
}

function manifestText(manifest: string | object[]): string {
  const list = (items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
  if (Array.isArray(manifest)) return list(manifest);
  if (!manifest.trimStart().startsWith('{')) return manifest;
  const docs = parseAllDocuments(manifest).map((d) => d.toJS() as unknown).filter((o) => o !== null && typeof o === 'object');
  return docs.length === 1 ? manifest : list(docs);
}

/** The cleanup the watchdog runs if this process dies first: a bash script, rewritten as processes start. */
function writeCleanupScript(path: string, pgids: number[], host: TestHost, dirs: string[]): void {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  writeFileSync(path, [
    '#!/usr/bin/env bash',
    ...pgids.map((p) => `kill -KILL -- -${p} 2>/dev/null`),
    `ip link del ${host.hostVeth} 2>/dev/null`,
    `ip netns del ${host.name} 2>/dev/null`,
    `rm -rf /run/dns01-e2e/slot-${host.slot}`,
    ...dirs.map((d) => `rm -rf ${q(d)}`),
    '',
  ].join('\n'));
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const keep = options.keep ?? process.env.DNS01_E2E_KEEP === '1';
  const kubeApiserverBin = options.kubeApiserver ?? binary('kube-apiserver');
  const etcdBin = binary('etcd');
  const kubectlBin = binary('kubectl');
  const versions = {
    kubeApiserver: await versionOf(kubeApiserverBin, ['--version']),
    etcd: await versionOf(etcdBin, ['--version']),
  };

  const dir = mkdtempSync(join(tmpdir(), 'dns01-e2e-'));
  // etcd fsyncs every write; on tmpfs that costs nothing.
  const etcdData = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : dir, 'dns01-e2e-etcd-'));
  const cleanupScript = join(dir, 'cleanup.sh');
  const procs: ManagedProcess[] = [];
  let host: TestHost | undefined;
  let watchdog: ReturnType<typeof spawn> | undefined;
  const cleanupDirs = () => (keep ? [etcdData] : [etcdData, dir]);
  const rewriteCleanup = () => host && writeCleanupScript(cleanupScript, procs.map((p) => p.pid), host, cleanupDirs());

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    watchdog?.kill('SIGKILL');
    // Webhooks first, kube-apiserver before etcd: each shuts down while what it talks to is still there.
    for (const p of [...procs].reverse()) await p.stop();
    await host?.remove();
    for (const d of cleanupDirs()) rmSync(d, { recursive: true, force: true });
  };

  try {
    host = await createTestHost();
    watchdog = spawn('bash', [join(HERE, 'watchdog.sh'), String(process.pid), cleanupScript], { detached: true, stdio: 'ignore' });
    watchdog.unref();
    rewriteCleanup();

    const pki = await generateClusterPki(dir, [host.hostIp, KUBERNETES_SERVICE_IP]);
    const logs = { etcd: join(dir, 'etcd.log'), kubeApiserver: join(dir, 'kube-apiserver.log') };

    const [etcdClient, etcdPeer] = [await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const etcd = spawnManaged('etcd', etcdBin, [
      '--name', 'e2e',
      '--data-dir', etcdData,
      '--listen-client-urls', etcdUrl,
      '--advertise-client-urls', etcdUrl,
      '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`,
      '--initial-cluster', `e2e=http://127.0.0.1:${etcdPeer}`,
      '--listen-metrics-urls', `http://127.0.0.1:${await freePort()}`,
      '--log-level', 'warn',
      '--logger', 'zap',
    ], { logFile: logs.etcd });
    procs.push(etcd);
    rewriteCleanup();
    await waitUntil('etcd /health', async () => {
      const res = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(2000) });
      return res.ok && ((await res.json()) as { health?: string }).health === 'true';
    }, { timeoutMs: 30_000, proc: etcd });

    const port = await freePort(host.hostIp);
    const server = `https://${host.hostIp}:${port}`;
    const f = pki.files;
    const apiserver = spawnManaged('kube-apiserver', kubeApiserverBin, [
      `--etcd-servers=${etcdUrl}`,
      // Bound to the host's veth address only: reachable from the host and from inside the test host.
      `--bind-address=${host.hostIp}`,
      `--advertise-address=${host.hostIp}`,
      `--secure-port=${port}`,
      `--cert-dir=${join(dir, 'cert-dir')}`,
      `--tls-cert-file=${f.servingCert}`,
      `--tls-private-key-file=${f.servingKey}`,
      `--client-ca-file=${f.caCert}`,
      `--requestheader-client-ca-file=${f.frontProxyCaCert}`,
      `--requestheader-allowed-names=${FRONT_PROXY_CLIENT_CN}`,
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${f.frontProxyClientCert}`,
      `--proxy-client-key-file=${f.frontProxyClientKey}`,
      // Proxy to the Endpoints' address instead of the ClusterIP (there is no kube-proxy).
      '--enable-aggregator-routing=true',
      `--service-account-issuer=${SA_ISSUER}`,
      `--service-account-key-file=${f.saPublicKey}`,
      `--service-account-signing-key-file=${f.saSigningKey}`,
      `--api-audiences=${SA_ISSUER}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      ...(options.nodes
        ? [
          '--authorization-mode=Node,RBAC',
          '--enable-admission-plugins=NodeRestriction',
          `--kubelet-client-certificate=${f.adminCert}`,
          `--kubelet-client-key=${f.adminKey}`,
          '--kubelet-preferred-address-types=InternalIP',
        ]
        // Without a controller-manager no namespace gets its default ServiceAccount, which this plugin
        // requires to admit a pod; nothing runs pods then.
        : ['--authorization-mode=RBAC', '--disable-admission-plugins=ServiceAccount']),
      '--profiling=false',
      '--v=1',
    ], { logFile: logs.kubeApiserver });
    procs.push(apiserver);
    rewriteCleanup();
    const admin = { ca: pki.clusterCa.certPem, cert: readFileSync(pki.files.adminCert), key: readFileSync(pki.files.adminKey) };
    await waitUntil('kube-apiserver /readyz', async () => (await httpsGet(`${server}/readyz`, admin, 3000)).status === 200, {
      timeoutMs: options.startTimeoutMs ?? 120_000,
      intervalMs: 500,
      proc: apiserver,
    });

    const kubeconfig = join(dir, 'admin.kubeconfig');
    writeFileSync(kubeconfig, kubeconfigJson(server, pki.clusterCa.certPem, {
      'client-certificate-data': Buffer.from(readFileSync(f.adminCert)).toString('base64'),
      'client-key-data': Buffer.from(readFileSync(f.adminKey)).toString('base64'),
    }), { mode: 0o600 });

    const kubectl = async (args: string[], o: KubectlOptions = {}) => {
      return new Promise<string>((resolve, reject) => {
        const child = execFile(kubectlBin, ['--kubeconfig', o.kubeconfig ?? kubeconfig, ...args], { maxBuffer: 64 << 20, timeout: 60_000 }, (err, stdout, stderr) => {
          if (err) reject(new Error(`kubectl ${args.join(' ')}: ${stderr.trim() || err.message}`));
          else resolve(stdout);
        });
        child.stdin?.end(o.input ?? '');
      });
    };
    const ensureServiceAccount = async (namespace: string, name: string) => {
      await kubectl(['apply', '--server-side', '-f', '-'], {
        input: JSON.stringify({
          apiVersion: 'v1',
          kind: 'List',
          items: [
            { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
            { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } },
          ],
        }),
      });
    };
    const tokenDir = join(dir, 'kubeconfigs');
    mkdirSync(tokenDir, { recursive: true });

    const sliceLabels = (service: string) => ({ 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'dns01-e2e' });
    /**
     * A Service's ports resolved the way the endpoints controller does: a numeric targetPort as is, a named one
     * through the container port names given here (or one number for every port).
     */
    const servicePorts = async (namespace: string, service: string, targetPorts: number | Record<string, number>) => {
      const svc = JSON.parse(await kubectl(['get', 'service', service, '-n', namespace, '-o', 'json'])) as {
        spec: { ports: Array<{ name?: string; protocol?: string; targetPort?: number | string }> };
      };
      const resolvePort = (p: { name?: string; targetPort?: number | string }) => {
        if (typeof targetPorts === 'number') return targetPorts;
        if (typeof p.targetPort === 'number') return p.targetPort;
        return targetPorts[String(p.targetPort ?? p.name ?? '')];
      };
      const ports = svc.spec.ports
        .map((p) => ({ name: p.name ?? '', port: resolvePort(p), protocol: p.protocol ?? 'TCP' }))
        .filter((p): p is { name: string; port: number; protocol: string } => typeof p.port === 'number');
      if (ports.length === 0) throw new Error(`service ${namespace}/${service}: no port resolves to a target port (${JSON.stringify(targetPorts)})`);
      return ports;
    };

    const cluster: Cluster = {
      dir,
      server,
      kubeconfig,
      pki,
      caPem: pki.clusterCa.certPem,
      frontProxyCaPem: pki.frontProxyCa.certPem,
      frontProxyClientCn: FRONT_PROXY_CLIENT_CN,
      host,
      versions,
      logs,
      kubeApiserverPid: apiserver.pid,
      kubectl,
      apply: (manifest, o) => kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], { ...o, input: manifestText(manifest) }),
      ensureServiceAccount,
      async createToken(namespace, serviceAccount, durationSeconds = 3600) {
        const out = await kubectl(['create', 'token', serviceAccount, '-n', namespace, `--duration=${durationSeconds}s`]);
        return out.trim();
      },
      writeTokenKubeconfig(name, token) {
        const path = join(tokenDir, `${name}.kubeconfig`);
        writeFileSync(path, kubeconfigJson(server, pki.clusterCa.certPem, { token }), { mode: 0o600 });
        return path;
      },
      async pointServiceAt(namespace, service, targetPorts) {
        const ports = await servicePorts(namespace, service, targetPorts);
        await cluster.apply(JSON.stringify({
          apiVersion: 'v1',
          kind: 'List',
          items: [
            { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: service, namespace }, subsets: [{ addresses: [{ ip: host!.ip }], ports }] },
            {
              apiVersion: 'discovery.k8s.io/v1',
              kind: 'EndpointSlice',
              metadata: { name: `${service}-e2e`, namespace, labels: sliceLabels(service) },
              addressType: 'IPv4',
              endpoints: [{ addresses: [host!.ip], conditions: { ready: true, serving: true, terminating: false } }],
              ports,
            },
          ],
        }));
      },
      async setServiceEndpoints(namespace, service, pods) {
        // One group per distinct set of port numbers: a slice (and an Endpoints subset) has one port list.
        const groups = new Map<string, { ports: Array<{ name: string; port: number; protocol: string }>; pods: EndpointPod[] }>();
        for (const pod of pods) {
          const ports = await servicePorts(namespace, service, pod.ports);
          const key = ports.map((p) => `${p.name}-${p.port}`).join('-');
          if (!groups.has(key)) groups.set(key, { ports, pods: [] });
          groups.get(key)!.pods.push(pod);
        }
        const slices = [...groups.entries()].map(([key, g]) => ({
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { name: `${service}-e2e-${key}`, namespace, labels: sliceLabels(service) },
          addressType: 'IPv4',
          endpoints: g.pods.map((p) => ({ addresses: [p.ip], conditions: { ready: p.ready, serving: true, terminating: !p.ready } })),
          ports: g.ports,
        }));
        const subsets = [...groups.values()].map((g) => ({
          ...(g.pods.some((p) => p.ready) ? { addresses: g.pods.filter((p) => p.ready).map((p) => ({ ip: p.ip })) } : {}),
          ...(g.pods.some((p) => !p.ready) ? { notReadyAddresses: g.pods.filter((p) => !p.ready).map((p) => ({ ip: p.ip })) } : {}),
          ports: g.ports,
        }));
        await cluster.apply(JSON.stringify({
          apiVersion: 'v1',
          kind: 'List',
          items: [{ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: service, namespace }, subsets }, ...slices],
        }));
        const existing = JSON.parse(await kubectl(['get', 'endpointslices', '-n', namespace, '-l', `kubernetes.io/service-name=${service},endpointslice.kubernetes.io/managed-by=dns01-e2e`, '-o', 'json'])) as {
          items: Array<{ metadata: { name: string } }>;
        };
        const stale = existing.items.map((i) => i.metadata.name).filter((name) => !slices.some((sl) => sl.metadata.name === name));
        if (stale.length > 0) await kubectl(['delete', 'endpointslice', '-n', namespace, ...stale]);
      },
      spawnInHost(name, command, args, o = {}) {
        const p = spawnManaged(name, command, args, { logFile: join(dir, `${name}.log`), wrapper: host!.exec, ...o });
        procs.push(p);
        rewriteCleanup();
        return p;
      },
      spawn(name, command, args, o = {}) {
        const p = spawnManaged(name, command, args, { logFile: join(dir, `${name}.log`), ...o });
        procs.push(p);
        rewriteCleanup();
        return p;
      },
      stop,
    };
    return cluster;
  } catch (err) {
    await stop();
    throw err;
  }
}
