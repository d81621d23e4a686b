/**
 * `npm run bench`: dns01-webhook against cert-manager's Go webhook framework, side by side on this machine.
 *
 * Both servers run a no-op solver (ours with its bundled solvers registered too) inside the e2e
 * cluster's test host, pinned to one core; the Go load generator, this script, etcd and kube-apiserver share
 * the other core. Each case (path × identity × concurrency) runs in interleaved rounds (A B, B A, ...), and the
 * table quotes medians. See docs/performance.md for what the cases mean and the latest figures.
 *
 *   npm run bench                                    # this checkout vs Go, write nothing
 *   npm run bench -- --write                         # ... and update docs/performance.md
 *   npm run bench -- --ours main --ours .            # two builds of ours (+ Go) in the same run
 *   npm run bench -- --quick                         # one short round: does it work?
 *   npm run bench -- --soak 300                      # plus RSS over 5 minutes at concurrency 64
 */
import { execFileSync, execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCA, issueCertificate } from '@dns01-webhook/core/testing';
import { startCluster, type Cluster } from '../test/e2e/cluster/cluster.js';
import { prepareCheckout, type Checkout } from './lib/checkouts.js';
import { runLoad } from './lib/load.js';
import { CLOCK_TICKS_PER_S, coreBusyTicks, cpuMsOf, goReference, imageNodeFlags, ours, rssOf, startServer, type BenchFiles, type RunningServer, type ServerKind } from './lib/servers.js';
import { renderReport, type CaseResult, type ReportInput, type RoundResult } from './lib/report.js';

const execAsync = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..');
const CACHE = process.env.DNS01_CACHE ?? '/var/cache/dns01-webhook';
const BENCH_CACHE = join(CACHE, 'bench');
/** Core 1 runs the servers; everything else (this script, load generator, kube-apiserver, etcd) core 0. */
const SERVER_CORE = 1;
const CLIENT_CORE = 0;
const NAMESPACE = 'bench';
const SAR_GROUP = 'bench-solvers';
/** Seconds of unmeasured load each server gets before the first case. */
const PROCESS_WARMUP_S = 3;

/** direct: HTTP/1.1 straight to the server; h2: HTTP/2 straight to it, as kube-apiserver's proxy sends; proxy: through kube-apiserver. */
export type Path = 'direct' | 'h2' | 'proxy';
export type Identity = 'masters' | 'sar';
export interface Case {
  path: Path;
  identity: Identity;
  concurrency: number;
}

const MATRIX: Case[] = [
  { path: 'direct', identity: 'masters', concurrency: 1 },
  { path: 'direct', identity: 'masters', concurrency: 16 },
  { path: 'direct', identity: 'masters', concurrency: 64 },
  { path: 'direct', identity: 'sar', concurrency: 16 },
  { path: 'direct', identity: 'sar', concurrency: 64 },
  { path: 'h2', identity: 'masters', concurrency: 16 },
  { path: 'h2', identity: 'masters', concurrency: 64 },
  { path: 'h2', identity: 'sar', concurrency: 16 },
  { path: 'h2', identity: 'sar', concurrency: 64 },
  { path: 'proxy', identity: 'masters', concurrency: 1 },
  { path: 'proxy', identity: 'masters', concurrency: 16 },
  { path: 'proxy', identity: 'sar', concurrency: 16 },
  { path: 'proxy', identity: 'masters', concurrency: 64 },
  { path: 'proxy', identity: 'sar', concurrency: 64 },
];

const USAGE = `usage: npm run bench -- [--ours <dir|git-ref>]... [--rounds 3] [--duration 5] [--warmup 1]
                       [--cold-starts 3] [--cases direct,h2,proxy,sar,masters,c16,c16+c64,...] [--soak <s>] [--go-h1] [--profile <dir>] [--quick] [--write]
  --go-h1   also run the Go reference with --disable-http2-serving ("go-h1"): what HTTP/1.1 instead of HTTP/2
            between kube-apiserver's proxy and a server costs, on the same server
  --profile <dir>  run ours with node --cpu-prof, one .cpuprofile per process in <dir> (written when it stops)`;

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)} load ${loadavg()[0]!.toFixed(2)}] ${message}\n`);
}

function options() {
  const { values } = parseArgs({
    options: {
      ours: { type: 'string', multiple: true },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      'cold-starts': { type: 'string' },
      cases: { type: 'string' },
      soak: { type: 'string' },
      'go-h1': { type: 'boolean' },
      profile: { type: 'string' },
      quick: { type: 'boolean' },
      write: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const num = (v: string | undefined, fallback: number, name: string) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number, got "${v}"`);
    return n;
  };
  const quick = values.quick === true;
  const filters = values.cases?.split(',').map((s) => s.trim()).filter(Boolean) ?? [];
  // Every filter must match; a filter may list alternatives with "+" (c16+c64: either concurrency).
  const cases = MATRIX.filter((c) => filters.every((f) => f.split('+').some((alt) => [c.path, c.identity, `c${c.concurrency}`].includes(alt))));
  if (cases.length === 0) throw new Error(`--cases ${values.cases} matches no case`);
  return {
    ours: values.ours ?? [REPO],
    rounds: num(values.rounds, quick ? 1 : 3, 'rounds'),
    durationS: num(values.duration, quick ? 2 : 5, 'duration'),
    warmupS: num(values.warmup, quick ? 0.5 : 1, 'warmup'),
    coldStarts: Math.max(1, num(values['cold-starts'], quick ? 1 : 3, 'cold-starts')),
    soakS: num(values.soak, 0, 'soak'),
    goH1: values['go-h1'] === true,
    profileDir: values.profile === undefined ? undefined : resolve(values.profile),
    cases,
    write: values.write === true,
    argv: process.argv.slice(2),
  };
}

function tool(name: string): string {
  const path = join(BENCH_CACHE, 'bin', name);
  if (!existsSync(path)) throw new Error(`${path} missing: run bash bench/install.sh (npm run bench does)`);
  return path;
}

function machine(cluster: Cluster): ReportInput['machine'] {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const goVersion = execFileSync('go', ['version']).toString().trim().replace(/^go version /, '');
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  return {
    cpu: `${cpu}, ${cpus().length} cores`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel,
    node: process.version,
    go: goVersion,
    kubeApiserver: cluster.versions.kubeApiserver,
  };
}

/** Established TCP connections to `port` inside the test host: HTTP/2 multiplexes onto one, HTTP/1.1 needs one per request in flight. */
async function connectionsTo(cluster: Cluster, port: number): Promise<number> {
  const { stdout } = await execAsync('ip', ['netns', 'exec', cluster.host.name, 'ss', '-Htn', 'state', 'established', `( sport = :${port} )`]);
  return stdout.split('\n').filter((l) => l.trim() !== '').length;
}

/** What kube-apiserver's aggregation proxy (v1.37) adds to a call besides the identity headers. */
function proxyHeaders(host: string, path: string): string[] {
  return [
    'X-Remote-Group: system:authenticated',
    'X-Remote-Extra-Authentication.kubernetes.io%2fcredential-id: X509SHA256=cdf85dba4c5d397101cf1714e4b19dbbfebb08419c4fcbb4babfb21f166c93e0',
    `X-Forwarded-Host: ${host}`,
    `X-Forwarded-Uri: ${path}`,
    'X-Forwarded-For: 198.18.0.1',
    'X-Forwarded-Proto: https',
    'Audit-Id: 5ebee06f-88d1-41d2-81fb-09353a36b2b1',
  ];
}

async function main(): Promise<void> {
  const o = options();
  if (cpus().length < 2) throw new Error('the benchmark pins the servers and the load generator to different cores: needs 2 or more');
  // Everything this process starts inherits core 0; the servers are moved to core 1 explicitly.
  execFileSync('taskset', ['-a', '-p', '-c', String(CLIENT_CORE), String(process.pid)], { stdio: 'ignore' });
  const started = new Date();
  log(`cases: ${o.cases.length}, rounds ${o.rounds} × ${o.durationS} s (+${o.warmupS} s warm-up), cold starts ${o.coldStarts}`);

  const checkouts: Checkout[] = [];
  for (const spec of o.ours) checkouts.push(await prepareCheckout(spec, REPO, BENCH_CACHE, log));
  const labels = new Set<string>();
  for (const c of checkouts) {
    if (labels.has(c.label)) c.label = `${c.label}#${labels.size}`;
    labels.add(c.label);
  }
  const loadgen = tool('loadgen');
  const refwebhook = tool('refwebhook');

  log('starting kube-apiserver + etcd (test/e2e/cluster)');
  const cluster = await startCluster();
  const running: RunningServer[] = [];
  try {
    const dir = join(cluster.dir, 'bench');
    mkdirSync(dir, { recursive: true });
    const write = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text, { mode: 0o600 });
      return path;
    };

    // One group, Service and APIService per server kind.
    const kinds: Array<{ label: string; group: string; service: string }> = [
      { label: 'go', group: 'go.bench.example.com', service: 'go' },
      ...(o.goH1 ? [{ label: 'go-h1', group: 'go-h1.bench.example.com', service: 'go-h1' }] : []),
      ...checkouts.map((c, i) => ({ label: c.label, group: `ours${i}.bench.example.com`, service: `ours${i}` })),
    ];
    const kindOf = (label: string) => kinds.find((k) => k.label === label)!;
    const servingCa = await createCA('dns01-bench-serving-ca', { validDays: 2 });
    const serving = await issueCertificate(servingCa, {
      commonName: 'dns01-bench',
      dnsNames: kinds.map((k) => `${k.service}.${NAMESPACE}.svc`),
      ipAddresses: [cluster.host.ip],
      usage: 'server',
      validDays: 2,
    });
    const sarClient = await issueCertificate(cluster.pki.clusterCa, { commonName: 'bench-user', organizations: [SAR_GROUP], usage: 'client', validDays: 2 });
    const files: BenchFiles = {
      servingCert: write('serving.crt', serving.certPem),
      servingKey: write('serving.key', serving.keyPem),
      servingCaPem: servingCa.certPem,
      kubeconfig: cluster.kubeconfig,
      noopSolver: join(HERE, 'noop-solver.mjs'),
    };
    const servingCaFile = write('serving-ca.crt', servingCa.certPem);
    const sarCert = write('sar-client.crt', sarClient.certPem);
    const sarKey = write('sar-client.key', sarClient.keyPem);
    const body = write('payload.json', JSON.stringify({
      request: {
        uid: '',
        action: 'Present',
        type: 'dns-01',
        dnsName: 'example.com',
        key: 'LHDhK3oGRvkiefQnx7OOczTY5Tic_xZ6HcMOc_gmtoM',
        resourceNamespace: 'cert-manager',
        resolvedFQDN: '_acme-challenge.example.com.',
        resolvedZone: 'example.com.',
        allowAmbientCredentials: false,
        config: {},
      },
    }));

    const serverKinds: ServerKind[] = [
      goReference(refwebhook, kindOf('go').group, files, cluster.host.ip),
      ...(o.goH1 ? [goReference(refwebhook, kindOf('go-h1').group, files, cluster.host.ip, { http1Only: true })] : []),
      ...checkouts.map((c) => ours(c, kindOf(c.label).group, files, cluster.host.ip, o.profileDir)),
    ];

    // RBAC for the SubjectAccessReview cases, and one APIService per server.
    await cluster.apply([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'bench-solver' },
        rules: [{ apiGroups: kinds.map((k) => k.group), resources: ['noop'], verbs: ['create'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'bench-solver' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'bench-solver' },
        subjects: [{ kind: 'Group', name: SAR_GROUP, apiGroup: 'rbac.authorization.k8s.io' }],
      },
    ]);

    let port = 9443;
    for (const kind of serverKinds) {
      log(`starting ${kind.label}`);
      running.push(await startServer(cluster, kind, port++, SERVER_CORE, files.servingCaPem));
    }
    await cluster.apply(kinds.flatMap((k, i) => [
      { apiVersion: 'v1', kind: 'Service', metadata: { name: k.service, namespace: NAMESPACE }, spec: { ports: [{ name: 'https', port: 443, targetPort: running[i]!.port }] } },
      {
        apiVersion: 'apiregistration.k8s.io/v1',
        kind: 'APIService',
        metadata: { name: `v1alpha1.${k.group}` },
        spec: {
          group: k.group,
          version: 'v1alpha1',
          service: { namespace: NAMESPACE, name: k.service, port: 443 },
          caBundle: Buffer.from(servingCa.certPem).toString('base64'),
          groupPriorityMinimum: 1000,
          versionPriority: 15,
        },
      },
    ]));
    for (const [i, k] of kinds.entries()) await cluster.pointServiceAt(NAMESPACE, k.service, running[i]!.port);
    for (const k of kinds) {
      const deadline = Date.now() + 90_000;
      for (;;) {
        const available = await cluster.kubectl(['get', 'apiservice', `v1alpha1.${k.group}`, '-o', 'jsonpath={.status.conditions[?(@.type=="Available")].status}']);
        if (available.trim() === 'True') break;
        if (Date.now() > deadline) throw new Error(`APIService v1alpha1.${k.group} not Available after 90 s`);
        await sleep(500);
      }
    }
    log('APIServices available');

    const loadFor = (server: RunningServer, c: Case) => {
      const proxy = c.path === 'proxy';
      const url = proxy
        ? `${cluster.server}/apis/${server.kind.group}/v1alpha1/noop`
        : `https://${cluster.host.ip}:${server.port}/apis/${server.kind.group}/v1alpha1/noop`;
      const identity = proxy
        ? c.identity === 'masters'
          ? { cert: cluster.pki.files.adminCert, key: cluster.pki.files.adminKey, headers: [] }
          : { cert: sarCert, key: sarKey, headers: [] }
        : {
            cert: cluster.pki.files.frontProxyClientCert,
            key: cluster.pki.files.frontProxyClientKey,
            headers: [
              ...(c.identity === 'masters'
                ? ['X-Remote-User: bench-admin', 'X-Remote-Group: system:masters']
                : ['X-Remote-User: bench-user', `X-Remote-Group: ${SAR_GROUP}`]),
              // The other headers kube-apiserver's proxy sends with every call (read from its http2 debug log).
              ...(c.path === 'h2' ? proxyHeaders(`${cluster.host.ip}:${server.port}`, new URL(url).pathname) : []),
            ],
          };
      return { url, ca: proxy ? cluster.pki.files.caCert : servingCaFile, body, concurrency: c.concurrency, durationS: o.durationS, warmupS: o.warmupS, h2: c.path === 'h2', ...identity };
    };

    // Unmeasured bursts per server first, over HTTP/1.1 and HTTP/2 (different code in ours): V8 compiles ours's
    // hot paths during its first seconds under load, which would otherwise land in the first round of the first
    // case of each protocol only (Go has nothing to warm up).
    for (const server of running) {
      for (const path of ['direct', 'h2'] as const) {
        await runLoad(loadgen, { ...loadFor(server, { path, identity: 'masters', concurrency: 16 }), durationS: PROCESS_WARMUP_S, warmupS: 0 });
      }
    }
    log('servers warmed up');

    const apiserver = cluster.kubeApiserverPid;
    const results: CaseResult[] = [];
    for (const c of o.cases) {
      const perServer = new Map<string, RoundResult[]>();
      for (let round = 0; round < o.rounds; round++) {
        // Alternate who goes first, so a trend in the machine's load does not favour one side.
        const order = round % 2 === 0 ? running : [...running].reverse();
        for (const server of order) {
          const load1 = loadavg()[0]!;
          const pending = runLoad(loadgen, loadFor(server, c));
          // The server's CPU time over the measured part of the round: CPU per request is what a busy shared
          // machine disturbs least (requests/s falls with every process that competes for the core).
          await sleep(o.warmupS * 1000);
          const cpuStart = cpuMsOf(server.process.pid);
          // Through the proxy, kube-apiserver's core is the one that saturates: its CPU per request shows what
          // each server's answers cost the proxy.
          const proxyCpuStart = c.path === 'proxy' ? cpuMsOf(apiserver) : undefined;
          const busyStart = coreBusyTicks();
          const t0 = performance.now();
          let connections: number | undefined;
          if (c.path === 'proxy') {
            await sleep((o.durationS / 2) * 1000);
            connections = await connectionsTo(cluster, server.port).catch(() => undefined);
          }
          const r = await pending;
          const perRequest = (ms: number) => (ms * 1000) / Math.max(1, r.rps * o.durationS);
          // Which core was the bottleneck: the server's (direct) or the client's, where kube-apiserver runs (proxy).
          const elapsedTicks = ((performance.now() - t0) / 1000) * CLOCK_TICKS_PER_S;
          const busy = coreBusyTicks().map((b, i) => (100 * (b - busyStart[i]!)) / elapsedTicks);
          const coresBusy = { client: busy[CLIENT_CORE]!, server: busy[SERVER_CORE]! };
          const cpuUsPerRequest = perRequest(cpuMsOf(server.process.pid) - cpuStart);
          const proxyCpuUsPerRequest = proxyCpuStart !== undefined ? perRequest(cpuMsOf(apiserver) - proxyCpuStart) : undefined;
          const expected = c.path === 'h2' ? 'HTTP/2.0' : 'HTTP/1.1'; // what the load generator spoke (to kube-apiserver for proxy)
          if (Object.keys(r.protocols).some((p) => p !== expected)) throw new Error(`${server.kind.label} ${c.path}: expected only ${expected}, got ${JSON.stringify(r.protocols)}`);
          if (r.errors > 0) log(`${server.kind.label} ${c.path}/${c.identity} c=${c.concurrency}: ${r.errors} errors (${r.firstError}) ${JSON.stringify(r.status)}`);
          const list = perServer.get(server.kind.label) ?? [];
          list.push({ ...r, load1, cpuUsPerRequest, coresBusy, ...(connections !== undefined ? { connections } : {}), ...(proxyCpuUsPerRequest !== undefined ? { proxyCpuUsPerRequest } : {}) });
          perServer.set(server.kind.label, list);
          log(`${c.path}/${c.identity} c=${c.concurrency} round ${round + 1} ${server.kind.label}: ${r.rps.toFixed(0)} rps p50 ${r.p50Ms} p99 ${r.p99Ms} ms, ${cpuUsPerRequest.toFixed(0)} µs CPU/request${connections !== undefined ? `, ${connections} conns` : ''}${proxyCpuUsPerRequest !== undefined ? `, kube-apiserver ${proxyCpuUsPerRequest.toFixed(0)} µs CPU/request` : ''}, cores busy ${coresBusy.client.toFixed(0)}% / ${coresBusy.server.toFixed(0)}%`);
        }
      }
      results.push({ case: c, rounds: Object.fromEntries(perServer) });
    }

    const rssAfterLoad = Object.fromEntries(running.map((s) => [s.kind.label, rssOf(s.process.pid)]));

    // Cold starts: the long-running instance was #1; more fresh instances, interleaved, stopped after measuring.
    const cold = new Map<string, Array<{ healthzMs: number; readyzMs: number; rssAtReadyMiB: number }>>();
    for (const s of running) cold.set(s.kind.label, [{ healthzMs: s.healthzMs, readyzMs: s.readyzMs, rssAtReadyMiB: s.rssAtReadyMiB }]);
    for (let i = 1; i < o.coldStarts; i++) {
      const order = i % 2 === 0 ? serverKinds : [...serverKinds].reverse();
      for (const kind of order) {
        const s = await startServer(cluster, kind, port++, SERVER_CORE, files.servingCaPem);
        cold.get(kind.label)!.push({ healthzMs: s.healthzMs, readyzMs: s.readyzMs, rssAtReadyMiB: s.rssAtReadyMiB });
        log(`cold start ${kind.label}: healthz ${s.healthzMs.toFixed(0)} ms, readyz ${s.readyzMs.toFixed(0)} ms, RSS ${s.rssAtReadyMiB.toFixed(0)} MiB`);
        await s.process.stop();
      }
    }

    // Soak: concurrency 64 straight to the Go reference and the last build of ours for --soak seconds, RSS
    // sampled every 5 s (the other builds are compared by the rounds above).
    const soak: ReportInput['soak'] = [];
    if (o.soakS > 0) {
      const soaked = running.filter((s) => s.kind.label === 'go' || s.kind.label === checkouts.at(-1)!.label);
      for (const server of soaked) {
        const samples: Array<{ t: number; rssMiB: number }> = [];
        const t0 = Date.now();
        const pending = runLoad(loadgen, { ...loadFor(server, { path: 'direct', identity: 'masters', concurrency: 64 }), durationS: o.soakS, warmupS: 0 });
        let finished = false;
        void pending.finally(() => (finished = true)).catch(() => {});
        while (!finished) {
          samples.push({ t: (Date.now() - t0) / 1000, rssMiB: rssOf(server.process.pid).rssMiB });
          await Promise.race([sleep(5000), pending.catch(() => {})]);
        }
        const r = await pending;
        samples.push({ t: (Date.now() - t0) / 1000, rssMiB: rssOf(server.process.pid).rssMiB });
        soak.push({ label: server.kind.label, seconds: o.soakS, rps: r.rps, errors: r.errors, samples });
        log(`soak ${server.kind.label}: ${r.rps.toFixed(0)} rps, RSS max ${Math.max(...samples.map((s) => s.rssMiB)).toFixed(0)} MiB, end ${samples.at(-1)!.rssMiB.toFixed(0)} MiB`);
      }
    }

    const input: ReportInput = {
      command: `npm run bench${o.argv.length ? ` -- ${o.argv.join(' ')}` : ''}`,
      started: started.toISOString(),
      finished: new Date().toISOString(),
      machine: machine(cluster),
      servers: [
        { label: 'go', what: 'cert-manager v1.21.2 pkg/acme/webhook/cmd.RunWebhookServer, no-op solver (bench/go/refwebhook)' },
        ...(o.goH1 ? [{ label: 'go-h1', what: 'the same Go reference with --disable-http2-serving (kube-apiserver then proxies over HTTP/1.1)' }] : []),
        ...checkouts.map((c) => ({ label: c.label, what: `dns01-webhook ${c.commit} (${c.dir}), its bundled solvers + the no-op solver, node ${[...imageNodeFlags(c.dir), '(as its image runs it)'].join(' ')}` })),
      ],
      settings: { rounds: o.rounds, durationS: o.durationS, warmupS: o.warmupS, coldStarts: o.coldStarts },
      results,
      rssAfterLoad,
      cold: Object.fromEntries(cold),
      soak,
    };
    mkdirSync(join(BENCH_CACHE, 'results'), { recursive: true });
    const rawFile = join(BENCH_CACHE, 'results', `${started.toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(rawFile, JSON.stringify(input, null, 2));
    const report = renderReport(input);
    process.stdout.write(`${report}\n(raw results: ${rawFile})\n`);
    if (o.write) {
      const doc = join(REPO, 'docs/performance.md');
      const begin = '<!-- bench:begin -->';
      const end = '<!-- bench:end -->';
      const current = existsSync(doc) ? readFileSync(doc, 'utf8') : `# Performance\n\n${begin}\n${end}\n`;
      const a = current.indexOf(begin);
      const b = current.indexOf(end);
      if (a < 0 || b < a) throw new Error(`${doc} lacks the ${begin} / ${end} markers`);
      writeFileSync(doc, `${current.slice(0, a + begin.length)}\n${report}\n${current.slice(b)}`);
      log(`wrote ${doc}`);
    }
  } finally {
    await cluster.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
