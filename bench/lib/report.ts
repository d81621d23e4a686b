/** The benchmark's Markdown report: medians of interleaved rounds, ratios to the Go reference. */
import { median, type LoadResult } from './load.js';

/** One server's round of one case. Fields after `load1` are optional: raw results of older runs lack them. */
export type RoundResult = LoadResult & {
  load1: number;
  cpuUsPerRequest?: number;
  /** Each core's busy share (%) over the measured part: the client core runs kube-apiserver, etcd and the load generator. */
  coresBusy?: { client: number; server: number };
  /** Through kube-apiserver: its TCP connections to the server, and its own CPU per request. */
  connections?: number;
  proxyCpuUsPerRequest?: number;
};

export interface CaseResult {
  case: { path: 'direct' | 'h2' | 'proxy'; identity: 'masters' | 'sar'; concurrency: number };
  /** Per server label, one entry per round (in round order). */
  rounds: Record<string, RoundResult[]>;
}

export interface ReportInput {
  command: string;
  started: string;
  finished: string;
  machine: { cpu: string; memoryGiB: number; kernel: string; node: string; go: string; kubeApiserver: string };
  servers: Array<{ label: string; what: string }>;
  settings: { rounds: number; durationS: number; warmupS: number; coldStarts: number };
  results: CaseResult[];
  rssAfterLoad: Record<string, { rssMiB: number; peakMiB: number }>;
  cold: Record<string, Array<{ healthzMs: number; readyzMs: number; rssAtReadyMiB: number }>>;
  soak: Array<{ label: string; seconds: number; rps: number; errors: number; samples: Array<{ t: number; rssMiB: number }> }>;
}

const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '–');
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');

const PATHS = { direct: 'direct', h2: 'direct over HTTP/2', proxy: 'through kube-apiserver' } as const;
const IDENTITIES = { masters: 'system:masters', sar: 'SAR-checked group' } as const;

/** Server CPU per request, ours over Go's (< 1: ours spends less); median and range of the per-round ratios. */
function cpuRatio(ours: Array<{ cpuUsPerRequest?: number }>, go: Array<{ cpuUsPerRequest?: number }>): string {
  const per = ours.map((r, i) => (r.cpuUsPerRequest ?? NaN) / (go[i]?.cpuUsPerRequest ?? NaN)).filter(Number.isFinite);
  if (per.length === 0) return '–';
  return per.length < 2 ? f2(per[0]!) : `${f2(median(per))} (${f2(Math.min(...per))}–${f2(Math.max(...per))})`;
}

/** Ratio of medians, and the range of per-round ratios (rounds are paired: same round, adjacent in time). */
function ratio(ours: LoadResult[], go: LoadResult[]): string {
  const m = median(ours.map((r) => r.rps)) / median(go.map((r) => r.rps));
  const per = ours.map((r, i) => r.rps / (go[i]?.rps ?? NaN)).filter(Number.isFinite);
  if (per.length < 2) return f2(m);
  return `${f2(m)} (${f2(Math.min(...per))}–${f2(Math.max(...per))})`;
}

export function renderReport(input: ReportInput): string {
  const labels = input.servers.map((s) => s.label);
  const ourLabels = labels.filter((l) => l !== 'go');
  const out: string[] = [];
  const m = input.machine;
  out.push(`Command: \`${input.command}\` — ${input.started.slice(0, 16).replace('T', ' ')} to ${input.finished.slice(11, 16)} UTC.`);
  out.push(`Machine: ${m.cpu}, ${m.memoryGiB} GiB, Linux ${m.kernel}; Node ${m.node}; ${m.go}; ${m.kubeApiserver}.`);
  out.push(
    `Settings: ${input.settings.rounds} interleaved rounds of ${input.settings.durationS} s (after ${input.settings.warmupS} s warm-up) per case and server; ` +
      `servers pinned to core 1, load generator + kube-apiserver + etcd to core 0. Figures are medians over the rounds; ` +
      `"load" is the 1-minute load average when each round started (median / max).`,
  );
  out.push('');
  for (const s of input.servers) out.push(`- \`${s.label}\`: ${s.what}`);
  out.push('');

  const head = ['path, identity', 'c'];
  for (const l of labels) head.push(`${l} rps`);
  for (const l of ourLabels) head.push(`${l} / go`);
  head.push(`p50 ms ${labels.join(' / ')}`, `p99 ms ${labels.join(' / ')}`, `CPU µs/request ${labels.join(' / ')}`);
  for (const l of ourLabels) head.push(`CPU/request ${l} / go`);
  if (input.results.some((r) => r.case.path === 'proxy')) head.push(`conns ${labels.join(' / ')}`, `kube-apiserver CPU µs/request ${labels.join(' / ')}`);
  head.push('busy % client / server core', 'errors', 'load');
  out.push(`| ${head.join(' | ')} |`);
  out.push(`|${head.map(() => '---').join('|')}|`);
  for (const r of input.results) {
    const row = [`${PATHS[r.case.path]}, ${IDENTITIES[r.case.identity]}`, String(r.case.concurrency)];
    const rounds = (l: string) => r.rounds[l] ?? [];
    /** Each server's median of one figure, "a / b / c". */
    const perServer = (value: (x: RoundResult) => number | undefined, format = f0) =>
      labels.map((l) => format(median(rounds(l).map((x) => value(x) ?? NaN)))).join(' / ');
    for (const l of labels) row.push(f0(median(rounds(l).map((x) => x.rps))));
    for (const l of ourLabels) row.push(ratio(rounds(l), rounds('go')));
    row.push(perServer((x) => x.p50Ms, f2), perServer((x) => x.p99Ms, f1), perServer((x) => x.cpuUsPerRequest));
    for (const l of ourLabels) row.push(cpuRatio(rounds(l), rounds('go')));
    if (head.some((h) => h.startsWith('conns'))) {
      const proxy = r.case.path === 'proxy';
      row.push(proxy ? perServer((x) => x.connections) : '', proxy ? perServer((x) => x.proxyCpuUsPerRequest) : '');
    }
    const all = labels.flatMap((l) => rounds(l));
    row.push(`${f0(median(all.map((x) => x.coresBusy?.client ?? NaN)))} / ${f0(median(all.map((x) => x.coresBusy?.server ?? NaN)))}`);
    row.push(String(labels.reduce((n, l) => n + rounds(l).reduce((e, x) => e + x.errors, 0), 0)));
    const loads = labels.flatMap((l) => rounds(l).map((x) => x.load1));
    row.push(`${f1(median(loads))} / ${f1(Math.max(...loads))}`);
    out.push(`| ${row.join(' | ')} |`);
  }
  out.push('');

  out.push(`| server | cold start: exec → /healthz 200 ms | → /readyz 200 ms | RSS at ready MiB | RSS after the load MiB (peak) |`);
  out.push('|---|---|---|---|---|');
  const goCold = input.cold.go ?? [];
  for (const l of labels) {
    const c = input.cold[l] ?? [];
    const rss = median(c.map((x) => x.rssAtReadyMiB));
    const after = input.rssAfterLoad[l];
    const vsGo = (mine: number, theirs: number) => (l === 'go' || !Number.isFinite(theirs) ? '' : ` (${f2(mine / theirs)}×)`);
    const goAfter = input.rssAfterLoad.go?.rssMiB ?? NaN;
    out.push(
      `| ${l} | ${f0(median(c.map((x) => x.healthzMs)))} | ${f0(median(c.map((x) => x.readyzMs)))} | ` +
        `${f0(rss)}${vsGo(rss, median(goCold.map((x) => x.rssAtReadyMiB)))} | ` +
        `${after ? `${f0(after.rssMiB)}${vsGo(after.rssMiB, goAfter)} (${f0(after.peakMiB)})` : '–'} |`,
    );
  }
  out.push('');
  out.push(`Cold start and RSS at ready: median of ${input.settings.coldStarts} starts per server (each a new process).`);

  if (input.soak.length > 0) {
    out.push('');
    out.push('| soak (direct, system:masters, c=64) | s | rps | errors | RSS at 60 s MiB | RSS max MiB | RSS at end MiB |');
    out.push('|---|---|---|---|---|---|---|');
    for (const s of input.soak) {
      const at60 = s.samples.find((x) => x.t >= 60)?.rssMiB ?? NaN;
      out.push(`| ${s.label} | ${s.seconds} | ${f0(s.rps)} | ${s.errors} | ${f0(at60)} | ${f0(Math.max(...s.samples.map((x) => x.rssMiB)))} | ${f0(s.samples.at(-1)?.rssMiB ?? NaN)} |`);
    }
  }
  return out.join('\n');
}
