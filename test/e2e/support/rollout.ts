/**
 * The parts of a cluster that a Deployment rollout needs and the e2e control plane does not run, played by the
 * test: the Deployment controller (surge a new pod, wait until it is Ready, then delete an old one), the kubelet
 * (start the container with the pod spec's args, probe readiness, on deletion run the preStop sleep, SIGTERM,
 * SIGKILL after the grace period) and the endpoints controllers (a Ready pod is a ready endpoint; a deleted pod
 * at once a terminating, not-ready one; gone once it exited).
 *
 * Each pod runs the build its template names (the working tree, or an earlier release built into the cache)
 * with the args that build's own chart rendered, on a pod IP of its own inside the test host.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyPairPem } from '@dns01-webhook/core/testing';
import type { Cluster } from '../cluster/cluster.js';
import { waitUntil, type ManagedProcess } from '../cluster/processes.js';
import { httpsJson, podSpec, REPO_ROOT, type KubeObject } from '../webhook.js';

/** A runnable tree of this repository: its built server and its chart. */
export interface WebhookBuild {
  name: string;
  root: string;
}

export const CURRENT_BUILD: WebhookBuild = { name: 'working tree', root: REPO_ROOT };

/** Reads KEY=value lines of test/e2e/install/versions.env (the install scripts source the same file). */
export function installVersions(): Record<string, string> {
  const text = readFileSync(join(REPO_ROOT, 'test/e2e/install/versions.env'), 'utf8');
  return Object.fromEntries([...text.matchAll(/^([A-Z0-9_]+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** The previous release built by test/e2e/install/webhook-previous.sh. */
export function previousBuild(): WebhookBuild {
  const commit = installVersions().WEBHOOK_PREVIOUS_COMMIT!;
  const cache = process.env.DNS01_CACHE ?? '/var/cache/dns01-webhook';
  return { name: `release ${commit}`, root: join(cache, 'webhook-builds', commit) };
}

export const chartDirOf = (build: WebhookBuild) => join(build.root, 'charts/dns01-webhook');

/** What a pod of a Deployment revision runs, read from the rendered Deployment. */
export interface PodTemplate {
  build: WebhookBuild;
  /** The container args as rendered by the build's chart. */
  args: string[];
  env: Record<string, string>;
  ports: Record<string, number>;
  /** lifecycle.preStop.sleep.seconds (0 without a preStop hook). */
  preStopSeconds: number;
  /** terminationGracePeriodSeconds (Kubernetes' default 30 when the spec has none). */
  terminationGraceSeconds: number;
}

export function podTemplate(build: WebhookBuild, deployment: KubeObject): PodTemplate {
  const { container, pod, env, ports } = podSpec(deployment);
  return {
    build,
    args: [...(container.args ?? [])],
    env,
    ports,
    preStopSeconds: container.lifecycle?.preStop?.sleep?.seconds ?? 0,
    terminationGraceSeconds: pod.terminationGracePeriodSeconds ?? 30,
  };
}

export interface PodContext {
  cluster: Cluster;
  /** Local directory standing in for the serving Secret mounted at /tls. */
  tlsDir: string;
  servingCa: KeyPairPem;
  serverName: string;
  /** kubeconfig with the webhook ServiceAccount's token (the pod's identity). */
  kubeconfig: string;
}

export interface Termination {
  pod: string;
  /** Exit code or signal name. */
  exit: number | string;
  /** From SIGTERM to exit. */
  drainMs: number;
  /** True when the grace period ran out and the pod was SIGKILLed. */
  killed: boolean;
}

/** One pod: a webhook process on its own IP inside the test host. */
export class Pod {
  ready = false;
  terminating = false;
  /** From spawn to the first successful readiness probe. */
  readyMs = 0;
  private constructor(
    readonly name: string,
    readonly ip: string,
    readonly template: PodTemplate,
    readonly proc: ManagedProcess,
  ) {}

  static async start(ctx: PodContext, name: string, template: PodTemplate): Promise<Pod> {
    const t0 = Date.now();
    const ip = await ctx.cluster.host.addAddress();
    // The pod's own IP instead of 0.0.0.0: pods share the test host's network namespace, not a port space each.
    const args = [
      ...template.args.filter((a) => !a.startsWith('--bind-address=')).map((a) => a.replace(/^--tls-(cert|private-key)-file=\/tls\//, `--tls-$1-file=${ctx.tlsDir}/`)),
      `--bind-address=${ip}`,
    ];
    const proc = ctx.cluster.spawnInHost(name, process.execPath, [join(template.build.root, 'packages/core/dist/cli/main.js'), 'serve', ...args, `--kubeconfig=${ctx.kubeconfig}`], {
      cwd: template.build.root,
      env: { ...process.env, ...template.env },
    });
    const pod = new Pod(name, ip, template, proc);
    // The kubelet's readiness probe (HTTPS GET /readyz on the https port), polled more often than every 5 s.
    await waitUntil(`${name} /readyz`, async () => (await httpsJson(`${pod.url}/readyz`, { ca: ctx.servingCa.certPem, servername: ctx.serverName })).status === 200, {
      timeoutMs: 30_000,
      intervalMs: 200,
      proc,
    });
    pod.ready = true;
    pod.readyMs = Date.now() - t0;
    return pod;
  }

  get url(): string {
    return `https://${this.ip}:${this.template.ports.https}`;
  }

  /** Lines of the webhook's log that record a finished challenge. */
  challengesServed(): number {
    return readFileSync(this.proc.logFile, 'utf8').split('\n').filter((l) => l.includes('"msg":"challenge done"') || l.includes('"msg":"challenge failed"')).length;
  }
}

/**
 * A Deployment's pods behind its Service. rollTo() follows the Deployment controller with maxSurge 1 and
 * maxUnavailable 0, and the kubelet's pod termination, one old pod at a time.
 */
export class FakeDeployment {
  pods: Pod[] = [];
  terminations: Termination[] = [];
  private serial = 0;

  constructor(
    private readonly ctx: PodContext,
    readonly namespace: string,
    readonly service: string,
    readonly name: string,
  ) {}

  /** The endpoints controllers' view of the current pods. */
  async publish(): Promise<void> {
    await this.ctx.cluster.setServiceEndpoints(this.namespace, this.service, this.pods.map((p) => ({ ip: p.ip, ports: p.template.ports, ready: p.ready && !p.terminating })));
  }

  async scaleUp(template: PodTemplate): Promise<Pod> {
    const pod = await Pod.start(this.ctx, `${this.name}-${++this.serial}`, template);
    this.pods.push(pod);
    await this.publish();
    return pod;
  }

  /**
   * Pod deletion as the kubelet runs it, with the pod's own (old) spec: endpoint not ready, preStop, SIGTERM, exit.
   * `serviceDeleted`: the Service went first (its endpoints with it), so there are no endpoints to update.
   */
  async deletePod(pod: Pod, { serviceDeleted = false } = {}): Promise<Termination> {
    pod.terminating = true;
    if (!serviceDeleted) await this.publish();
    const t = pod.template;
    await sleep(t.preStopSeconds * 1000);
    const sigterm = Date.now();
    const graceLeftMs = Math.max(2_000, (t.terminationGraceSeconds - t.preStopSeconds) * 1000);
    let killed = false;
    try {
      process.kill(-pod.proc.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    const timer = sleep(graceLeftMs).then(() => 'timeout' as const);
    if ((await Promise.race([pod.proc.exited, timer])) === 'timeout') {
      killed = true;
      await pod.proc.stop(0);
    }
    const termination: Termination = { pod: pod.name, exit: await pod.proc.exited, drainMs: Date.now() - sigterm, killed };
    this.terminations.push(termination);
    this.pods = this.pods.filter((p) => p !== pod);
    if (!serviceDeleted) await this.publish();
    return termination;
  }

  /** A rollout to `template`: for each old pod, surge one new pod, wait Ready, then delete the old one. */
  async rollTo(template: PodTemplate): Promise<void> {
    const old = this.pods.filter((p) => p.template !== template);
    for (const pod of old) {
      await this.scaleUp(template);
      await this.deletePod(pod);
    }
  }
}

/** The serving Secret's files as the pods see them under /tls. */
export function writeTlsDir(dir: string, serving: KeyPairPem): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tls.crt'), serving.certPem);
  writeFileSync(join(dir, 'tls.key'), serving.keyPem, { mode: 0o600 });
  return dir;
}
