/**
 * Runs the project's image (built from the Dockerfile by buildah) as the chart's pod spec says, with podman +
 * runc, inside an e2e cluster's test host (the network namespace the Service's Endpoints point at):
 *
 * - the container's args as rendered, its user/group (runAsUser/runAsGroup, fsGroup as a supplementary group),
 *   read-only root filesystem, all capabilities dropped, no privilege escalation, the default seccomp profile;
 * - the serving Secret mounted read-only at /tls laid out like a Secret volume (mode 0440, group fsGroup), an
 *   emptyDir at /tmp, and the ServiceAccount's token, CA and namespace at
 *   /var/run/secrets/kubernetes.io/serviceaccount with KUBERNETES_SERVICE_HOST/PORT — the in-cluster config a
 *   kubelet gives a pod.
 *
 * Plug it into installWebhook with `launch: podmanLauncher(image)`.
 */
import { execFile } from 'node:child_process';
import { chownSync, readdirSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Cluster } from '../cluster/cluster.js';
import type { ManagedProcess } from '../cluster/processes.js';
import { writeSecretVolume, type WebhookLauncher, type WebhookPod } from '../webhook.js';

const exec = promisify(execFile);
/**
 * podman without systemd (cgroupfs), as installed by test/e2e/install/containers.sh. The OCI runtime is runc:
 * Debian's crun 1.8 refuses this machine's hybrid cgroup layout ("cgroups in hybrid mode not supported": the
 * cgroup2 mount at /sys/fs/cgroup/unified still has the hugetlb controller), runc 1.1 handles it.
 */
export const PODMAN_GLOBAL = ['--cgroup-manager=cgroupfs', '--runtime=runc', '--events-backend=file'];

/**
 * podman's default rlimits (nofile/nproc 1048576) are above this sandbox's hard limits, and raising a limit
 * needs CAP_SYS_RESOURCE, which the sandbox does not grant: give the container limits it may have. (kubelet
 * sets none; containers inherit containerd's.)
 */
export const PODMAN_RUN_LIMITS = ['--ulimit=nofile=4096:4096', '--ulimit=nproc=4096:4096'];

export async function podman(args: string[], timeoutMs = 60_000): Promise<string> {
  const { stdout } = await exec('podman', [...PODMAN_GLOBAL, ...args], { timeout: timeoutMs, maxBuffer: 32 << 20 });
  return stdout;
}

/** Gives `gid` group ownership of a volume dir tree, as kubelet does for fsGroup (links left alone). */
function chownGroup(dir: string, gid: number): void {
  chownSync(dir, 0, gid);
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    const st = lstatSync(path);
    if (st.isSymbolicLink()) continue;
    if (st.isDirectory()) chownGroup(path, gid);
    else chownSync(path, 0, gid);
  }
}

/** podman flags for the container's securityContext and the pod's, as kubelet would apply them. */
export function securityFlags(pod: WebhookPod): string[] {
  const sc = pod.container.securityContext ?? {};
  const psc = pod.podSecurityContext;
  const user = sc.runAsUser ?? psc.runAsUser;
  const group = sc.runAsGroup ?? psc.runAsGroup;
  const flags: string[] = [];
  if (user !== undefined) flags.push(`--user=${user}${group !== undefined ? `:${group}` : ''}`);
  if (psc.fsGroup !== undefined) flags.push(`--group-add=${psc.fsGroup}`);
  if (sc.readOnlyRootFilesystem) flags.push('--read-only', '--read-only-tmpfs=false');
  for (const cap of sc.capabilities?.drop ?? []) flags.push(`--cap-drop=${cap}`);
  if (sc.allowPrivilegeEscalation === false) flags.push('--security-opt=no-new-privileges');
  // seccompProfile RuntimeDefault is podman's default profile; anything else is not what the chart renders.
  const seccomp = sc.seccompProfile?.type ?? psc.seccompProfile?.type;
  if (seccomp && seccomp !== 'RuntimeDefault') throw new Error(`seccomp profile ${seccomp} is not mapped`);
  return flags;
}

export interface ContainerProcess extends ManagedProcess {
  /** podman's container name. */
  container: string;
  /** The container's init pid on this machine (for /proc checks). */
  hostPid(): Promise<number>;
}

export function podmanLauncher(image: string, onStart?: (c: ContainerProcess) => void): WebhookLauncher {
  return async (cluster: Cluster, pod: WebhookPod) => {
    const name = `dns01-e2e-${cluster.host.slot}-${pod.name}`;
    const fsGroup = pod.podSecurityContext.fsGroup as number | undefined;
    const tlsDir = join(cluster.dir, `${pod.name}-volumes`, 'tls');
    const saDir = join(cluster.dir, `${pod.name}-volumes`, 'serviceaccount');
    const volume = (n: string) => pod.volumes.find((v) => v.name === n);
    writeSecretVolume(tlsDir, pod.tls, (volume('tls')?.secret?.defaultMode as number | undefined) ?? 0o644);
    writeSecretVolume(saDir, { token: pod.token, 'ca.crt': cluster.caPem, namespace: pod.namespace }, 0o644);
    if (fsGroup !== undefined) chownGroup(tlsDir, fsGroup);

    const mounts: string[] = [];
    for (const m of pod.container.volumeMounts ?? []) {
      if (m.name === 'tls') mounts.push(`--mount=type=bind,src=${tlsDir},dst=${m.mountPath},ro=true`);
      else if (m.name === 'tmp' && volume('tmp')?.emptyDir) mounts.push(`--mount=type=tmpfs,dst=${m.mountPath},tmpfs-mode=1777`);
      else throw new Error(`volume mount ${m.name} is not mapped`);
    }
    const api = new URL(cluster.server);
    const env = { ...pod.env, KUBERNETES_SERVICE_HOST: api.hostname, KUBERNETES_SERVICE_PORT: api.port };
    const memory = pod.container.resources?.limits?.memory as string | undefined;
    await exec('podman', [...PODMAN_GLOBAL, 'rm', '--force', '--ignore', name]).catch(() => undefined);
    const args = [
      ...PODMAN_GLOBAL,
      'run', '--rm', `--name=${name}`, '--pull=never',
      `--network=ns:/run/netns/${cluster.host.name}`,
      ...PODMAN_RUN_LIMITS,
      ...securityFlags(pod),
      ...mounts,
      `--mount=type=bind,src=${saDir},dst=/var/run/secrets/kubernetes.io/serviceaccount,ro=true`,
      ...(memory ? [`--memory=${memory.replace(/i$/, '').toLowerCase()}`] : []),
      ...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
      image,
      ...pod.args,
    ];
    const proc = cluster.spawn(pod.name, 'podman', args);
    const stop = proc.stop.bind(proc);
    const container: ContainerProcess = Object.assign(Object.create(proc) as ManagedProcess, {
      container: name,
      async hostPid() {
        return Number((await podman(['inspect', '--format', '{{.State.Pid}}', name])).trim());
      },
      async stop(graceMs?: number) {
        await exec('podman', [...PODMAN_GLOBAL, 'stop', '--time=5', name], { timeout: 30_000 }).catch(() => undefined);
        await stop(graceMs);
        await exec('podman', [...PODMAN_GLOBAL, 'rm', '--force', '--ignore', name], { timeout: 30_000 }).catch(() => undefined);
      },
    });
    onStart?.(container);
    return container;
  };
}
