/**
 * Runs the real `helm` binary against charts/dns01-webhook and parses what it renders.
 * helm is installed (idempotently, cached outside the repo) by test/e2e/install/helm.sh.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const chartDir = join(repoRoot, 'charts/dns01-webhook');
export const valuesDir = join(repoRoot, 'test/chart/values');
const binDir = process.env.DNS01_BIN ?? join(process.env.DNS01_CACHE ?? '/var/cache/dns01-webhook', 'bin');
export const helmPath = join(binDir, 'helm');

/** Kubernetes version the e2e cluster runs (test/e2e/install/lib/k8s-build.sh); offline renders pretend to be it. */
export const KUBE_VERSION = process.env.K8S_VERSION ?? '1.37.2';
export const RELEASE = 'dns01';
export const NAMESPACE = 'dns01-webhook';

/** The values files under test/chart/values, by base name without `.yaml`. */
export function valuesFiles(): string[] {
  return readdirSync(valuesDir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

export async function ensureHelm(): Promise<void> {
  await run('bash', [join(repoRoot, 'test/e2e/install/helm.sh')], { timeout: 15 * 60_000 });
}

/** Everything the e2e cluster needs (etcd, kube-apiserver, kubectl, helm, ...): cached, fast when present. */
export async function ensureE2eTools(): Promise<void> {
  await run('bash', [join(repoRoot, 'test/e2e/install/all.sh')], { timeout: 15 * 60_000 });
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm and returns its exit code and output instead of throwing, so tests can assert on failures too. */
export async function helm(args: string[]): Promise<HelmResult> {
  try {
    const { stdout, stderr } = await run(helmPath, args, {
      cwd: repoRoot,
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
      // An isolated HOME keeps the user's helm repositories and plugins out of the result.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp', HELM_CACHE_HOME: '/tmp/dns01-helm-cache' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export interface RenderOptions {
  valuesFile?: string;
  set?: string[];
  kubeVersion?: string;
  namespace?: string;
  release?: string;
  extraArgs?: string[];
}

export function templateArgs(opts: RenderOptions): string[] {
  const args = ['template', opts.release ?? RELEASE, chartDir, '--namespace', opts.namespace ?? NAMESPACE];
  args.push('--kube-version', opts.kubeVersion ?? KUBE_VERSION);
  if (opts.valuesFile) args.push('-f', join(valuesDir, `${opts.valuesFile}.yaml`));
  for (const s of opts.set ?? []) args.push('--set', s);
  return [...args, ...(opts.extraArgs ?? [])];
}

/** `helm template`; throws with helm's message when rendering fails. */
export async function renderChart(opts: RenderOptions): Promise<string> {
  const result = await helm(templateArgs(opts));
  if (result.code !== 0) throw new Error(`helm template failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]!.message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

/** Finds exactly one object of a kind (and name, when given); fails loudly otherwise. */
export function one(objects: K8sObject[], kind: string, name?: string, namespace?: string): K8sObject {
  const found = objects.filter(
    (o) =>
      o.kind === kind &&
      (name === undefined || o.metadata.name === name) &&
      (namespace === undefined || o.metadata.namespace === namespace),
  );
  if (found.length !== 1) {
    const have = objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).join(', ');
    throw new Error(`expected one ${kind} ${name ?? ''} ${namespace ?? ''}, found ${found.length}; rendered: ${have}`);
  }
  return found[0]!;
}
