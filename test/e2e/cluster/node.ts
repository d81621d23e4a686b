/**
 * A single-node cluster on this machine: the e2e kube-apiserver (startCluster({ nodes: true })) plus a node —
 * containerd with runc and the CNI bridge plugin, kubelet registered as a Node, kube-controller-manager and
 * kube-scheduler — so charts run as real pods (pods.test.ts).
 *
 *   const cluster = await startCluster({ nodes: true });
 *   const node = await startNode(cluster);
 *   await node.importImage('/path/to/docker-archive.tar');
 *   ... helm install, pods ...
 *   await node.stop();            // kills pods, shims, containerd; unmounts; removes cgroups, bridge, iptables rule
 *   await cluster.stop();
 *
 * What this sandbox shaped (docs/e2e.md, "The chart as pods"):
 * - cgroup v1 (hybrid): kubelet runs with `failCgroupV1: false` and the cgroupfs driver; the OCI runtime is runc
 *   (Debian's crun 1.8 refuses the hybrid layout). Pods live under their own cgroup root per test-host slot, so
 *   parallel nodes do not meet, and so a crashed run's containers can be found and killed.
 * - no CAP_SYS_RESOURCE: containerd's `restrict_oom_score_adj` and kubelet's `oomScoreAdj: 0` / `maxOpenFiles`
 *   keep within what may be set.
 * - registry.k8s.io is unreachable: the sandbox image is our pause stand-in (install/node.sh).
 * - no kube-proxy: Services' ClusterIPs are not routed. kube-apiserver reaches pods through EndpointSlices
 *   (--enable-aggregator-routing); pods reach kube-apiserver at the `kubernetes` Service's ClusterIP (what kubelet
 *   puts into KUBERNETES_SERVICE_HOST) through one DNAT rule limited to this node's pod CIDR.
 *
 * Pod network: a bridge `d01br-<slot>` with 198.19.<slot>.1/24 (made here; the CNI bridge plugin attaches pods to it
 * and host-local hands out addresses), a default route through it in each pod. Pods reach this machine's addresses
 * (kube-apiserver, emulators on the test host's veth) as local destinations: no forwarding, no masquerading.
 *
 * Every process, mount, cgroup, link and rule is removed by stop(), and by the watchdog if the test process dies
 * (the same cleanup script, watchdog.sh).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { issueCertificate } from '@dns01-webhook/core/testing';
import { binary, kubeconfigJson, KUBERNETES_SERVICE_IP, type Cluster } from './cluster.js';
import { httpsGet } from './https.js';
import { freePort, pidExists, spawnManaged, waitUntil, type ManagedProcess } from './processes.js';

const exec = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const CNI_BIN_DIR = '/usr/lib/cni';
const CGROUP_FS = '/sys/fs/cgroup';
/** Node dirs are `${NODE_DIR_PREFIX}XXXXXX`, each with an `owner` file (the test process's pid). */
const NODE_DIR_PREFIX = '/tmp/dns01-e2e-node-';
/** kubelet's device manager socket: a fixed path whatever --root-dir says. */
const DEVICE_PLUGIN_SOCKET = '/var/lib/kubelet/device-plugins/kubelet.sock';

export interface NodeOptions {
  /** Time the node gets to become Ready. */
  readyTimeoutMs?: number;
  /** klog verbosity of kubelet and the controllers. Default 1. */
  verbosity?: number;
}

export interface ClusterNode {
  /** Node name (also its kubernetes.io/hostname label). */
  name: string;
  /** This node's pod CIDR (host-local IPAM range). */
  podCidr: string;
  /** The node's InternalIP: the test host's veth address on this machine. */
  ip: string;
  /** containerd's socket. */
  containerdAddress: string;
  /** The pause stand-in used as sandbox image. */
  sandboxImage: string;
  /** kubelet's HTTPS endpoint. */
  kubeletUrl: string;
  logs: { containerd: string; kubelet: string; controllerManager: string; scheduler: string };
  /** `ctr` against this containerd, in the CRI namespace (k8s.io). */
  ctr(args: string[], timeoutMs?: number): Promise<string>;
  /** Imports a docker-archive / OCI archive (`buildah push … docker-archive:`) for the kubelet to run. */
  importImage(archive: string): Promise<void>;
  /** The host pid of a container's process, from the pod status' containerID (`containerd://<id>`). */
  containerPid(containerId: string): number;
  /** GET on kubelet's API with the cluster's admin certificate (e.g. /metrics/probes). */
  kubeletGet(path: string): Promise<{ status: number; body: string }>;
  stop(): Promise<void>;
}

/** The pause stand-in install/node.sh built: `pause-<sum>.tar` → `localhost/dns01-e2e/pause:<sum>`. */
function pauseArchive(): { archive: string; image: string } {
  const dir = join(process.env.DNS01_CACHE ?? '/var/cache/dns01-webhook', 'node');
  const file = existsSync(dir) ? readdirSync(dir).find((f) => /^pause-[0-9a-f]+\.tar$/.test(f)) : undefined;
  if (!file) throw new Error(`no pause image archive in ${dir}. Run: bash test/e2e/install/all.sh`);
  return { archive: join(dir, file), image: `localhost/dns01-e2e/pause:${file.slice('pause-'.length, -'.tar'.length)}` };
}

/** Names that belong to a test-host slot: parallel nodes (one per slot) never share any of them. */
export function nodeNames(slot: number) {
  return {
    node: `dns01-e2e-node-${slot}`,
    bridge: `d01br-${slot}`,
    podCidr: `198.19.${slot}.0/24`,
    gateway: `198.19.${slot}.1`,
    /** kubelet's cgroupRoot, in every cgroup v1 hierarchy. */
    cgroup: `dns01-e2e-node-${slot}`,
    /** iptables comment on this node's rules. */
    ruleTag: `dns01-e2e-node-${slot}`,
  };
}

/**
 * The cleanup for a node, as a bash script: run by stop(), by the watchdog if the test process dies, and in parts
 * before a node starts — the slot part for the slot this run now owns, the dir part for node dirs whose owner
 * process is dead (a run killed so hard that its watchdog died too). Order: the node's processes (process groups
 * recorded while it ran), every container runc knows in the node's runc root (`runc delete --force`: kills its
 * processes, removes its cgroups), every process left in the slot's cgroups, containerd's shims (found by the
 * node's containerd socket in their command line) and their sockets; then the mounts under its dir (container
 * roots, netns, volumes), its cgroups, the bridge, the DNAT rule, kubelet's /var/log/containers links and
 * device-plugin socket (kubelet hard-codes both paths), the dir.
 */
function cleanupScript(o: { slot?: number; dir?: string; socket?: string; pgids?: number[] }): string {
  const n = o.slot === undefined ? undefined : nodeNames(o.slot);
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return [
    '#!/usr/bin/env bash',
    ...(o.pgids ?? []).map((p) => `kill -KILL -- -${p} 2>/dev/null`),
    ...(o.dir
      ? [
        `dir=${q(o.dir)}`,
        'runc_root="$dir/containerd/runc/k8s.io"',
        'if [ -d "$runc_root" ]; then',
        '  for id in $(timeout 20 runc --root "$runc_root" list -q 2>/dev/null); do',
        '    timeout 20 runc --root "$runc_root" delete --force "$id" >/dev/null 2>&1',
        '  done',
        'fi',
      ]
      : []),
    ...(n
      ? [
        `cg=${q(n.cgroup)}`,
        'for round in 1 2 3 4 5 6 7 8 9 10; do',
        `  pids="$(find ${CGROUP_FS}/*/"$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)"`,
        '  [ -z "$pids" ] && break',
        '  kill -KILL $pids 2>/dev/null; sleep 0.2',
        'done',
      ]
      : []),
    ...(o.socket
      ? [
        `sock=${q(o.socket)}`,
        'for p in /proc/[0-9]*; do',
        '  cmd="$(tr \'\\0\' \' \' <"$p/cmdline" 2>/dev/null)" || continue',
        '  case "$cmd " in *" -address $sock "*)',
        '    id="$(sed -n \'s/.* -id \\([^ ]*\\).*/\\1/p\' <<<"$cmd")"',
        '    kill -KILL "${p#/proc/}" 2>/dev/null',
        '    [ -n "$id" ] && rm -f "/run/containerd/s/$(printf \'%s\' "$sock/k8s.io/$id" | sha256sum | cut -d\' \' -f1)";;',
        '  esac',
        'done',
      ]
      : []),
    ...(o.dir
      ? [
        'for round in 1 2 3; do',
        '  mounts="$(awk -v d="$dir/" \'index($5, d) == 1 { print $5 }\' /proc/self/mountinfo | sort -r)"',
        '  [ -z "$mounts" ] && break',
        '  for m in $mounts; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done',
        'done',
      ]
      : []),
    ...(n
      ? [
        `for h in ${CGROUP_FS}/*/; do [ -d "$h$cg" ] && find "$h$cg" -depth -type d -exec rmdir {} + 2>/dev/null; done`,
        `ip link del ${q(n.bridge)} 2>/dev/null`,
        `iptables -w -t nat -S PREROUTING 2>/dev/null | grep -w -- ${q(`--comment ${n.ruleTag}`)} | sed 's/^-A /-D /' | while read -r rule; do iptables -w -t nat $rule; done`,
      ]
      : []),
    ...(o.dir
      ? [
        'find /var/log/containers -maxdepth 1 -lname "$dir/*" -delete 2>/dev/null',
        'rm -rf --one-file-system "$dir" "$dir.cleanup.sh"',
      ]
      : []),
    // Every kubelet recreates it at start; remove it once no kubelet runs.
    `pgrep -x kubelet >/dev/null || rm -f ${q(DEVICE_PLUGIN_SOCKET)}`,
    'true',
    '',
  ].join('\n');
}

/** Node dirs whose test process is gone without its watchdog having cleaned up (both killed at once). */
async function reapDeadNodeDirs(): Promise<void> {
  const parent = dirname(NODE_DIR_PREFIX);
  for (const name of readdirSync(parent)) {
    const dir = join(parent, name);
    if (!dir.startsWith(NODE_DIR_PREFIX) || name.endsWith('.cleanup.sh')) continue;
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, 'owner'), 'utf8'));
    } catch {
      continue; // being created, or not ours
    }
    if (Number.isInteger(owner) && owner > 0 && pidExists(owner)) continue;
    await run('bash', ['-c', cleanupScript({ dir, socket: join(dir, 'containerd.sock') })], 120_000);
  }
}

async function run(command: string, args: string[], timeoutMs = 30_000): Promise<string> {
  try {
    return (await exec(command, args, { timeout: timeoutMs, maxBuffer: 32 << 20 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

/** kubelet's cgroupRoot must exist in every hierarchy; a new cpuset cgroup starts with no cpus/mems. */
function createCgroupRoot(name: string): void {
  for (const h of readdirSync(CGROUP_FS)) {
    const hierarchy = join(CGROUP_FS, h);
    if (!existsSync(join(hierarchy, 'cgroup.procs'))) continue; // not a mounted hierarchy (e.g. a symlink)
    const dir = join(hierarchy, name);
    mkdirSync(dir, { recursive: true });
    if (h === 'cpuset') {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(join(dir, f), readFileSync(join(hierarchy, f)));
    }
  }
}

function containerdConfig(o: { dir: string; socket: string; sandboxImage: string; cniConfDir: string }): string {
  const s = (v: string) => JSON.stringify(v);
  const cri = (sub = '') => `[plugins."io.containerd.grpc.v1.cri"${sub}]`;
  return `version = 2
root = ${s(join(o.dir, 'containerd/root'))}
state = ${s(join(o.dir, 'containerd/state'))}
# Only what the CRI plugin on this machine needs.
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = ${s(o.socket)}
[ttrpc]
  address = ${s(`${o.socket}.ttrpc`)}

[plugins."io.containerd.internal.v1.opt"]
  path = ${s(join(o.dir, 'containerd/opt'))}

${cri()}
  sandbox_image = ${s(o.sandboxImage)}
  # Pod network namespaces under our state dir, not the machine's /var/run/netns.
  netns_mounts_under_state_dir = true
  # No CAP_SYS_RESOURCE here: never ask for an oom_score_adj below containerd's own.
  restrict_oom_score_adj = true
  disable_hugetlb_controller = true
  tolerate_missing_hugetlb_controller = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  ${cri('.cni')}
    bin_dir = ${s(CNI_BIN_DIR)}
    conf_dir = ${s(o.cniConfDir)}
  ${cri('.containerd')}
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    ${cri('.containerd.runtimes.runc')}
      runtime_type = "io.containerd.runc.v2"
      ${cri('.containerd.runtimes.runc.options')}
        BinaryName = "runc"
        Root = ${s(join(o.dir, 'containerd/runc'))}
        SystemdCgroup = false
`;
}

export async function startNode(cluster: Cluster, options: NodeOptions = {}): Promise<ClusterNode> {
  const slot = cluster.host.slot;
  const n = nodeNames(slot);
  const nodeIp = cluster.host.hostIp;
  const { archive: pauseTar, image: sandboxImage } = pauseArchive();
  const v = `--v=${options.verbosity ?? 1}`;

  // A crashed run in this slot (its owner is dead: the slot was free) may have left pods, cgroups, a bridge, a rule;
  // a run killed together with its watchdog may have left its dir (containers, shims, mounts) in any slot.
  await run('bash', ['-c', cleanupScript({ slot })], 120_000);
  await reapDeadNodeDirs();

  const dir = mkdtempSync(NODE_DIR_PREFIX);
  writeFileSync(join(dir, 'owner'), String(process.pid));
  const socket = join(dir, 'containerd.sock');
  const cleanupFile = `${dir}.cleanup.sh`;
  const procs: ManagedProcess[] = [];
  const writeCleanup = () => writeFileSync(cleanupFile, cleanupScript({ slot, dir, socket, pgids: procs.map((p) => p.pid) }));
  writeCleanup();
  const watchdog = spawn('bash', [join(HERE, 'watchdog.sh'), String(process.pid), cleanupFile], { detached: true, stdio: 'ignore' });
  watchdog.unref();

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // kubelet first (it would restart what the cleanup kills), then the script takes containers, shims, containerd.
    // The watchdog stays until the script is through: if this process dies meanwhile, it runs the script again.
    for (const p of [...procs].reverse()) if (p.name !== 'containerd') await p.stop(3000);
    await run('bash', [cleanupFile], 120_000);
    for (const p of procs) await p.stop(1000);
    watchdog.kill('SIGKILL');
  };

  const spawnLogged = (name: string, command: string, args: string[]) => {
    const p = spawnManaged(name, command, args, { logFile: join(dir, `${name}.log`) });
    procs.push(p);
    writeCleanup();
    return p;
  };

  try {
    // ---- identities: client certificates from the cluster CA, as kubeadm would make them
    const ca = cluster.pki.clusterCa;
    const [kubeletClient, kubeletServing, kcmClient, schedulerClient] = await Promise.all([
      issueCertificate(ca, { commonName: `system:node:${n.node}`, organizations: ['system:nodes'], usage: 'client', validDays: 2 }),
      issueCertificate(ca, { commonName: n.node, dnsNames: [n.node], ipAddresses: [nodeIp], usage: 'server', validDays: 2 }),
      issueCertificate(ca, { commonName: 'system:kube-controller-manager', usage: 'client', validDays: 2 }),
      issueCertificate(ca, { commonName: 'system:kube-scheduler', usage: 'client', validDays: 2 }),
    ]);
    const pki = join(dir, 'pki');
    mkdirSync(pki, { mode: 0o700 });
    const file = (name: string, text: string) => {
      const path = join(pki, name);
      writeFileSync(path, text, { mode: 0o600 });
      return path;
    };
    const kubeconfig = (name: string, cert: { certPem: string; keyPem: string }) => file(`${name}.kubeconfig`, kubeconfigJson(cluster.server, ca.certPem, {
      'client-certificate-data': Buffer.from(cert.certPem).toString('base64'),
      'client-key-data': Buffer.from(cert.keyPem).toString('base64'),
    }));

    // ---- network: the bridge with the pods' gateway address, the CNI config, the DNAT to kube-apiserver
    await run('ip', ['link', 'add', n.bridge, 'type', 'bridge']);
    await run('ip', ['addr', 'add', `${n.gateway}/24`, 'dev', n.bridge]);
    await run('ip', ['link', 'set', n.bridge, 'up']);
    const cniConfDir = join(dir, 'cni/net.d');
    mkdirSync(cniConfDir, { recursive: true });
    writeFileSync(join(cniConfDir, '10-dns01-e2e.conflist'), JSON.stringify({
      cniVersion: '0.4.0',
      name: n.node,
      plugins: [{
        type: 'bridge',
        bridge: n.bridge,
        // The bridge already has the gateway address (set above): isGateway would also turn on IP forwarding
        // machine-wide, which nothing here needs.
        isGateway: false,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: n.podCidr, gateway: n.gateway }]],
          routes: [{ dst: '0.0.0.0/0', gw: n.gateway }],
          dataDir: join(dir, 'cni/ipam'),
        },
      }],
    }, null, 2));
    const api = new URL(cluster.server);
    await run('iptables', ['-w', '-t', 'nat', '-A', 'PREROUTING', '-s', n.podCidr, '-d', `${KUBERNETES_SERVICE_IP}/32`, '-p', 'tcp', '--dport', '443',
      '-m', 'comment', '--comment', n.ruleTag, '-j', 'DNAT', '--to-destination', `${api.hostname}:${api.port}`]);

    // ---- containerd, with the sandbox image imported
    const containerdConfigFile = join(dir, 'containerd.toml');
    writeFileSync(containerdConfigFile, containerdConfig({ dir, socket, sandboxImage, cniConfDir }));
    const containerd = spawnLogged('containerd', 'containerd', ['--config', containerdConfigFile, '--log-level', 'warn']);
    const ctr = (args: string[], timeoutMs = 60_000) => run('ctr', ['--address', socket, '--namespace', 'k8s.io', ...args], timeoutMs);
    await waitUntil('containerd', async () => existsSync(socket) && (await ctr(['version'], 5000)).includes('Server'), { timeoutMs: 30_000, proc: containerd });
    await ctr(['images', 'import', pauseTar], 120_000);

    // ---- kubelet
    createCgroupRoot(n.cgroup);
    const kubeletPort = await freePort(nodeIp);
    const kubeletConfig = file('kubelet.json', JSON.stringify({
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      // This machine has cgroup v1 only (hybrid), which kubelet ≥ 1.35 refuses unless told.
      failCgroupV1: false,
      cgroupDriver: 'cgroupfs',
      cgroupRoot: `/${n.cgroup}`,
      containerRuntimeEndpoint: `unix://${socket}`,
      address: nodeIp,
      port: kubeletPort,
      readOnlyPort: 0,
      healthzPort: 0,
      tlsCertFile: file('kubelet.crt', kubeletServing.certPem),
      tlsPrivateKeyFile: file('kubelet.key', kubeletServing.keyPem),
      authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: cluster.pki.files.caCert } },
      authorization: { mode: 'Webhook' },
      // Leave the machine's iptables alone (the canary chains are for kube-proxy's benefit; there is none).
      makeIPTablesUtilChains: false,
      // No CAP_SYS_RESOURCE: no oom_score_adj below ours, no RLIMIT_NOFILE above the hard limit.
      oomScoreAdj: 0,
      maxOpenFiles: Number((await run('bash', ['-c', 'ulimit -Hn'])).trim()) || 4096,
      // A shared build machine: never garbage-collect the imported images or evict for its disk usage.
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
      podLogsDir: join(dir, 'pod-logs'),
      maxPods: 16,
      serializeImagePulls: false,
      failSwapOn: false,
      resolvConf: '/etc/resolv.conf',
      registerNode: true,
    }, null, 2));
    const kubelet = spawnLogged('kubelet', binary('kubelet'), [
      `--config=${kubeletConfig}`,
      `--kubeconfig=${kubeconfig('kubelet', kubeletClient)}`,
      `--root-dir=${join(dir, 'kubelet')}`,
      `--cert-dir=${join(dir, 'kubelet-pki')}`,
      `--hostname-override=${n.node}`,
      `--node-ip=${nodeIp}`,
      v,
    ]);

    // ---- controllers and scheduler, each with its own identity (bootstrap RBAC roles)
    const controllerManager = spawnLogged('kube-controller-manager', binary('kube-controller-manager'), [
      `--kubeconfig=${kubeconfig('kube-controller-manager', kcmClient)}`,
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${cluster.pki.files.saSigningKey}`,
      `--root-ca-file=${cluster.pki.files.caCert}`,
      '--leader-elect=false',
      '--secure-port=0',
      v,
    ]);
    const scheduler = spawnLogged('kube-scheduler', binary('kube-scheduler'), [
      `--kubeconfig=${kubeconfig('kube-scheduler', schedulerClient)}`,
      '--leader-elect=false',
      '--secure-port=0',
      v,
    ]);

    await waitUntil(`node ${n.node} Ready`, async () => {
      const out = await cluster.kubectl(['get', 'node', n.node, '-o', 'json', '--ignore-not-found']);
      if (!out.trim()) return false;
      const node = JSON.parse(out) as { status?: { conditions?: Array<{ type: string; status: string }> } };
      return node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    }, { timeoutMs: options.readyTimeoutMs ?? 120_000, intervalMs: 500, proc: kubelet });
    for (const p of [containerd, controllerManager, scheduler]) {
      if (p.done) throw new Error(`${p.name} exited (${await p.exited}):\n${p.logTail()}`);
    }

    const adminTls = { ca: ca.certPem, cert: readFileSync(cluster.pki.files.adminCert, 'utf8'), key: readFileSync(cluster.pki.files.adminKey, 'utf8') };
    const kubeletUrl = `https://${nodeIp}:${kubeletPort}`;
    return {
      name: n.node,
      podCidr: n.podCidr,
      ip: nodeIp,
      containerdAddress: socket,
      sandboxImage,
      kubeletUrl,
      logs: { containerd: containerd.logFile, kubelet: kubelet.logFile, controllerManager: controllerManager.logFile, scheduler: scheduler.logFile },
      ctr,
      async importImage(archive) {
        await ctr(['images', 'import', archive], 10 * 60_000);
      },
      containerPid(containerId) {
        const id = containerId.replace(/^containerd:\/\//, '');
        const text = readFileSync(join(dir, 'containerd/state/io.containerd.runtime.v2.task/k8s.io', id, 'init.pid'), 'utf8');
        const pid = Number(text);
        // Callers signal it (SIGSTOP): 0 or a negative number would signal our own process group.
        if (!Number.isInteger(pid) || pid <= 1) throw new Error(`container ${id}: init.pid holds ${JSON.stringify(text)}`);
        return pid;
      },
      kubeletGet: (path) => httpsGet(`${kubeletUrl}${path}`, adminTls, 10_000),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
