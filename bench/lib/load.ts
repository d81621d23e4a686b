/** Runs the Go load generator (bench/go/loadgen) once and returns its JSON result. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface LoadResult {
  requests: number;
  errors: number;
  firstError?: string;
  seconds: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  status: Record<string, number>;
  protocols: Record<string, number>;
  concurrency: number;
}

export interface LoadOptions {
  url: string;
  cert: string;
  key: string;
  ca: string;
  body: string;
  concurrency: number;
  durationS: number;
  warmupS: number;
  headers?: string[];
  h2?: boolean;
}

export async function runLoad(loadgen: string, o: LoadOptions): Promise<LoadResult> {
  const args = [
    '-url', o.url,
    '-cert', o.cert,
    '-key', o.key,
    '-ca', o.ca,
    '-body', o.body,
    '-c', String(o.concurrency),
    '-d', `${o.durationS}s`,
    '-warmup', `${o.warmupS}s`,
    ...(o.h2 ? ['-h2'] : []),
    ...(o.headers ?? []).flatMap((h) => ['-H', h]),
  ];
  try {
    const { stdout } = await exec(loadgen, args, { maxBuffer: 1 << 20, timeout: (o.durationS + o.warmupS + 120) * 1000 });
    return JSON.parse(stdout) as LoadResult;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`loadgen ${o.url}: ${e.stderr?.trim() || e.message}`);
  }
}

export function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
