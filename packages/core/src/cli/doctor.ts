/**
 * `dns01-webhook doctor`: checks an installation from a kubeconfig, per webhook solver of the (Cluster)Issuers —
 * APIService Available, the solver in discovery, cert-manager's RBAC, the webhook's access to each Secret, the
 * config against the solver's schema, and with --domain the SOA walk and a read-only provider call — and
 * prints a verdict with the fix for each. Exit 0 only when nothing failed.
 */
import { getServers } from 'node:dns';
import { isIP } from 'node:net';
import { loadSolverPackages, SolverRegistry } from '../solver/registry.js';
import { toFqdn } from '../solver/names.js';
import { solverPackageList } from './solvers.js';
import { kubeAccessFor } from './challenge.js';
import { EXIT, parseFlags, seconds, UsageError } from './usage.js';
import { kubeRest } from './doctor/kube.js';
import {
  checkApiService,
  checkCertManagerRbac,
  checkConfig,
  checkDiscovery,
  checkProvider,
  checkSecretAccess,
  checkZone,
  findWebhookServiceAccount,
  loadIssuers,
  webhookSolversOf,
  type CheckResult,
  type IssuerRef,
  type WebhookSolverRef,
} from './doctor/checks.js';

export const DOCTOR_HELP = `Usage: dns01-webhook doctor [--kubeconfig <file>] [--issuer <name> [--namespace <ns>] | --cluster-issuer <name>] [--domain <domain>] [--output text|json]

Checks what usually breaks a DNS-01 webhook, for each webhook solver of the Issuer (default: every Issuer and
ClusterIssuer with one), and prints a verdict with the fix:
  apiservice         APIService v1alpha1.<groupName> exists and is Available (kube-apiserver's reason if not)
  discovery          the webhook serves the solverName
  cert-manager-rbac  cert-manager's ServiceAccount may create <solverName>.<groupName> (SubjectAccessReview)
  secret-access      the webhook's ServiceAccount may get each Secret the config names, in the right namespace
                     (the Issuer's; for a ClusterIssuer the cluster resource namespace), and it has the key
  config             the config validates against the solver's schema
  zone, provider     with --domain: cert-manager's SOA walk for _acme-challenge.<domain>, and a read-only provider
                     call (zone lookup) with the Issuer's credentials, whose zone must match the walk's
Secret values are never printed.

Options:
  --kubeconfig <file>                    default: in-cluster, $KUBECONFIG or ~/.kube/config
  --issuer <name> --namespace <ns>       one Issuer (namespace default "default")
  --cluster-issuer <name>                one ClusterIssuer
  --domain <domain>                      run the zone and provider checks for this domain
  --nameserver <host:port>               resolver for the SOA walk (default: the system's first resolver)
  --output text|json                     default text
  --cluster-resource-namespace <ns>      where ClusterIssuer Secrets live (cert-manager's flag; default cert-manager)
  --cert-manager-namespace <ns>          cert-manager's namespace (default cert-manager)
  --cert-manager-service-account <name>  cert-manager's ServiceAccount (default cert-manager)
  --webhook-service-account <ns>/<name>  the webhook's ServiceAccount (default: found through the APIService's Service)
  --solver-packages <a,b>                solvers to validate configs with (default: the bundled ones)
  --timeout <s>                          deadline of the provider check (default 30)

Exit codes: 0 every check passed (or was skipped), 1 a check failed, 2 usage error.`;

const FLAGS = {
  kubeconfig: { type: 'string' },
  issuer: { type: 'string' },
  namespace: { type: 'string' },
  'cluster-issuer': { type: 'string' },
  domain: { type: 'string' },
  nameserver: { type: 'string' },
  output: { type: 'string' },
  'cluster-resource-namespace': { type: 'string' },
  'cert-manager-namespace': { type: 'string' },
  'cert-manager-service-account': { type: 'string' },
  'webhook-service-account': { type: 'string' },
  'solver-packages': { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface SolverReport {
  issuer: IssuerRef;
  index: number;
  groupName: string;
  solverName: string;
  checks: CheckResult[];
}

export interface DoctorReport {
  ok: boolean;
  summary: { pass: number; fail: number; skip: number };
  /** Problems before any solver could be checked (no Issuer, cert-manager missing). */
  problems: CheckResult[];
  solvers: SolverReport[];
}

function issuerText(r: IssuerRef): string {
  return r.kind === 'ClusterIssuer' ? `ClusterIssuer ${r.name}` : `Issuer ${r.namespace}/${r.name}`;
}

const MARK = { pass: 'ok  ', fail: 'FAIL', skip: 'skip' } as const;

export function renderText(report: DoctorReport): string {
  const lines: string[] = [];
  const show = (c: CheckResult) => {
    lines.push(`  [${MARK[c.verdict]}] ${c.id.padEnd(17)} ${c.message}`);
    if (c.fix) lines.push(`         ${''.padEnd(17)} fix: ${c.fix}`);
  };
  for (const p of report.problems) show(p);
  for (const s of report.solvers) {
    lines.push(`${issuerText(s.issuer)}, solvers[${s.index}]: webhook ${s.solverName}.${s.groupName}`);
    s.checks.forEach(show);
  }
  const { pass, fail, skip } = report.summary;
  lines.push(`${report.ok ? 'healthy' : 'problems found'}: ${pass} passed, ${fail} failed, ${skip} skipped`);
  return `${lines.join('\n')}\n`;
}

function defaultNameserver(): string {
  const first = getServers()[0];
  if (!first) throw new UsageError('no system resolver to walk SOA records with: pass --nameserver host:port', 'doctor');
  return isIP(first) === 6 ? `[${first}]:53` : isIP(first) ? `${first}:53` : first;
}

export async function runDoctor(argv: string[]): Promise<number> {
  const values = parseFlags('doctor', argv, FLAGS);
  if (values.help) {
    process.stdout.write(`${DOCTOR_HELP}\n`);
    return EXIT.ok;
  }
  const output = values.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new UsageError(`--output must be text or json, got "${output}"`, 'doctor');
  if (values.issuer && values['cluster-issuer']) throw new UsageError('give --issuer or --cluster-issuer, not both', 'doctor');
  if (values.namespace && !values.issuer) throw new UsageError('--namespace goes with --issuer', 'doctor');
  let webhookSaFlag: { namespace: string; name: string } | undefined;
  if (values['webhook-service-account'] !== undefined) {
    const m = /^([^/\s]+)\/([^/\s]+)$/.exec(values['webhook-service-account']);
    if (!m) throw new UsageError(`--webhook-service-account must be <namespace>/<name>, got "${values['webhook-service-account']}"`, 'doctor');
    webhookSaFlag = { namespace: m[1]!, name: m[2]! };
  }
  const timeoutS = seconds('doctor', 'timeout', values.timeout, 30);
  const domain = values.domain?.trim().replace(/^\*\./, '').replace(/\.$/, '');
  if (values.domain !== undefined && !domain) throw new UsageError('--domain needs a domain name, e.g. example.com', 'doctor');
  const nameserver = domain ? values.nameserver ?? defaultNameserver() : undefined;
  const wanted: IssuerRef | undefined = values['cluster-issuer']
    ? { kind: 'ClusterIssuer', name: values['cluster-issuer'] }
    : values.issuer
      ? { kind: 'Issuer', name: values.issuer, namespace: values.namespace ?? 'default' }
      : undefined;
  const cm = { namespace: values['cert-manager-namespace'] ?? 'cert-manager', serviceAccount: values['cert-manager-service-account'] ?? 'cert-manager' };
  const clusterResourceNamespace = values['cluster-resource-namespace'] ?? 'cert-manager';

  // Solvers known to this CLI, for the config and provider checks; a package that fails to load is reported there.
  const registry = new SolverRegistry();
  for (const pkg of solverPackageList(values['solver-packages'])) {
    try {
      await loadSolverPackages(registry, [pkg]);
    } catch (err) {
      if (values['solver-packages'] !== undefined) throw new UsageError(`--solver-packages: ${(err as Error).message}`, 'doctor');
    }
  }

  const kube = kubeRest(values.kubeconfig);
  const report: DoctorReport = { ok: true, summary: { pass: 0, fail: 0, skip: 0 }, problems: [], solvers: [] };
  const { issuers, problem } = await loadIssuers(kube, wanted);
  if (problem) report.problems.push(problem);
  const solvers: WebhookSolverRef[] = [];
  for (const { ref, object } of issuers) {
    const found = webhookSolversOf(object, ref, clusterResourceNamespace);
    if (found.length === 0 && wanted) {
      report.problems.push({ id: 'issuer', verdict: 'fail', message: `${issuerText(ref)} has no dns01.webhook solver`, fix: 'add a solver with dns01.webhook {groupName, solverName, config}' });
    }
    solvers.push(...found);
  }
  if (!wanted && !problem && solvers.length === 0) {
    report.problems.push({ id: 'issuer', verdict: 'fail', message: 'no Issuer or ClusterIssuer in the cluster uses a dns01.webhook solver', fix: 'create one (see the chart README), or name it with --issuer/--cluster-issuer' });
  }

  const access = domain ? await kubeAccessFor(values.kubeconfig) : undefined;
  const walked = new Map<string, Awaited<ReturnType<typeof checkZone>>>();
  for (const s of solvers) {
    const checks: CheckResult[] = [];
    const api = await checkApiService(kube, s.groupName);
    checks.push(api.result);
    checks.push(
      api.result.verdict === 'pass'
        ? await checkDiscovery(kube, s.groupName, s.solverName)
        : { id: 'discovery', verdict: 'skip', message: 'needs an Available APIService' },
    );
    checks.push(await checkCertManagerRbac(kube, s, cm));
    const webhookSa = webhookSaFlag ?? (api.service ? await findWebhookServiceAccount(kube, api.service) : undefined);
    checks.push(...(await checkSecretAccess(kube, s, webhookSa)));
    const solver = registry.get(s.solverName);
    const config = checkConfig(solver, s, registry.names());
    checks.push(config);
    if (!domain || !access || !nameserver) {
      checks.push({ id: 'zone', verdict: 'skip', message: 'pass --domain to walk the SOA records as cert-manager does' });
      checks.push({ id: 'provider', verdict: 'skip', message: 'pass --domain to try the credentials with a read-only provider call' });
    } else {
      const fqdn = toFqdn(`_acme-challenge.${domain}`);
      if (!walked.has(fqdn)) walked.set(fqdn, await checkZone(fqdn, nameserver));
      const zone = walked.get(fqdn)!;
      checks.push(zone.result);
      checks.push(
        config.verdict === 'pass' && solver
          ? await checkProvider(solver, s, fqdn, zone.zone, access, timeoutS * 1000)
          : { id: 'provider', verdict: 'skip', message: 'needs a valid config of a solver this CLI has' },
      );
    }
    report.solvers.push({ issuer: s.issuer, index: s.index, groupName: s.groupName, solverName: s.solverName, checks });
  }

  for (const c of [...report.problems, ...report.solvers.flatMap((s) => s.checks)]) report.summary[c.verdict]++;
  report.ok = report.summary.fail === 0;
  process.stdout.write(output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderText(report));
  return report.ok ? EXIT.ok : EXIT.failure;
}
