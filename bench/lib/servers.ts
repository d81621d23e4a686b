/**
 * The servers under test, run inside the e2e cluster's network-namespace test host (kube-apiserver's proxy
 * will not call a loopback address) and pinned to the server core with `taskset`: the Go reference
 * (cert-manager's RunWebhookServer, bench/go/refwebhook) and one or more builds of ours. Both get the same
 * serving certificate, the same kubeconfig (for the ConfigMap, TokenReview and SubjectAccessReview) and
 * so the same delegated authentication and authorization.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster } from '../../test/e2e/cluster/cluster.js';
import type { ManagedProcess } from '../../test/e2e/cluster/processes.js';
import type { Checkout } from './checkouts.js';

/** The checkout's bundled solvers (packages/solver-*) stay registered in ours: lazy SDK loading is part of what is measured. */
function bundledSolvers(dir: string): string[] {
  const packages = join(dir, 'packages');
  return readdirSync(packages)
    .filter((d) => d.startsWith('solver-') && existsSync(join(packages, d, 'package.json')))
    .map((d) => (JSON.parse(readFileSync(join(packages, d, 'package.json'), 'utf8')) as { name: string }).name);
}

export interface ServerKind {
  /** Column label: `go`, `ours`, `ours@<ref>`. */
  label: string;
  /** API group this server serves (one APIService each). */
  group: string;
  /** The command line for one instance listening on `port`. */
  command(port: number): { command: string; args: string[]; env: NodeJS.ProcessEnv };
}

export interface BenchFiles {
  servingCert: string;
  servingKey: string;
  servingCaPem: string;
  kubeconfig: string;
  noopSolver: string;
}

export function goReference(binary: string, group: string, files: BenchFiles, bindAddress: string, options: { http1Only?: boolean } = {}): ServerKind {
  return {
    label: options.http1Only ? 'go-h1' : 'go',
    group,
    command: (port) => ({
      command: binary,
      args: [
        `--secure-port=${port}`,
        `--bind-address=${bindAddress}`,
        `--tls-cert-file=${files.servingCert}`,
        `--tls-private-key-file=${files.servingKey}`,
        `--kubeconfig=${files.kubeconfig}`,
        `--authentication-kubeconfig=${files.kubeconfig}`,
        `--authorization-kubeconfig=${files.kubeconfig}`,
        ...(options.http1Only ? ['--disable-http2-serving'] : []),
      ],
      env: { ...process.env, GROUP_NAME: group },
    }),
  };
}

/** The node flags the checkout's image runs `serve` with (its Dockerfile's ENTRYPOINT), so ours runs as the image runs it. */
export function imageNodeFlags(dir: string): string[] {
  const dockerfile = join(dir, 'Dockerfile');
  const entrypoint = existsSync(dockerfile) ? /^ENTRYPOINT (\[.*\])\s*$/m.exec(readFileSync(dockerfile, 'utf8'))?.[1] : undefined;
  const argv = entrypoint ? (JSON.parse(entrypoint) as string[]) : [];
  const script = argv.findIndex((a, i) => i > 0 && !a.startsWith('-'));
  return script > 0 ? argv.slice(1, script) : [];
}

/** `profileDir`: run under `node --cpu-prof`, the profile written there when the process stops. */
export function ours(checkout: Checkout, group: string, files: BenchFiles, bindAddress: string, profileDir?: string): ServerKind {
  const nodeFlags = imageNodeFlags(checkout.dir);
  return {
    label: checkout.label,
    group,
    command: (port) => ({
      command: process.execPath,
      args: [
        ...nodeFlags,
        ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
        checkout.cli,
        'serve',
        `--group-name=${group}`,
        `--secure-port=${port}`,
        `--bind-address=${bindAddress}`,
        `--tls-cert-file=${files.servingCert}`,
        `--tls-private-key-file=${files.servingKey}`,
        `--kubeconfig=${files.kubeconfig}`,
        `--solver-packages=${[...bundledSolvers(checkout.dir), files.noopSolver].join(',')}`,
        '--metrics-port=0',
      ],
      env: { ...process.env, NODE_ENV: 'production' },
    }),
  };
}

export interface RunningServer {
  kind: ServerKind;
  port: number;
  process: ManagedProcess;
  /** exec → first 200 on /healthz, and on /readyz. */
  healthzMs: number;
  readyzMs: number;
  /** RSS once /readyz answered 200. */
  rssAtReadyMiB: number;
}

/** Resident set size of a process (VmRSS), in MiB; the peak (VmHWM) too. */
export function rssOf(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
}

/** CPU time (user + system, all threads) a process has used so far, in ms. */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th, in clock ticks.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
}
/** Busy time of each core so far, in clock ticks (everything but idle and iowait): `/proc/stat`. */
export function coreBusyTicks(): number[] {
  return readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d+ /.test(l)).map((l) => {
    const t = l.split(/\s+/).slice(1).map(Number);
    return t.reduce((a, b) => a + b, 0) - t[3]! - t[4]!;
  });
}

/** USER_HZ: 100 on Linux for every architecture the benchmark runs on. */
export const CLOCK_TICKS_PER_S = 100;

/** One GET without a client certificate; resolves the status, or 0 when nothing answers yet. */
function probe(url: string, ca: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { ca, timeout: 1000, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

async function firstOk(url: string, ca: string, started: number, proc: ManagedProcess, timeoutMs: number): Promise<number> {
  for (;;) {
    if (proc.done) throw new Error(`${proc.name} exited (${await proc.exited}) before ${url} answered 200:\n${proc.logTail()}`);
    if ((await probe(url, ca)) === 200) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms:\n${proc.logTail()}`);
    await sleep(5);
  }
}

let instances = 0;

/**
 * Starts one instance pinned to `core` inside the test host and measures its cold start:
 * exec → first 200 on /healthz (as the issue defines it), then → /readyz, then its RSS.
 */
export async function startServer(cluster: Cluster, kind: ServerKind, port: number, core: number, caPem: string): Promise<RunningServer> {
  const { command, args, env } = kind.command(port);
  const name = `bench-${kind.label.replace(/[^a-z0-9.-]/gi, '_')}-${++instances}`;
  const started = performance.now();
  const proc = cluster.spawnInHost(name, 'taskset', ['-c', String(core), command, ...args], { env });
  const base = `https://${cluster.host.ip}:${port}`;
  const healthzMs = await firstOk(`${base}/healthz`, caPem, started, proc, 60_000);
  const readyzMs = await firstOk(`${base}/readyz`, caPem, started, proc, 60_000);
  return { kind, port, process: proc, healthzMs, readyzMs, rssAtReadyMiB: rssOf(proc.pid).rssMiB };
}
