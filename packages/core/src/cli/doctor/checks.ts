/**
 * The checks of `dns01-webhook doctor`, one function per failure users hit most, each returning a verdict with
 * the fix. They read the cluster through the user's kubeconfig and never print a Secret's value (only names,
 * key names, and messages that went through the executor's redaction).
 */
import { randomUUID } from 'node:crypto';
import type { ChallengeRequest, SecretReader, ServiceAccountTokenSource, Solver, SolverCheck } from '../../solver/contract.js';
import { executeChallenge, validateConfig } from '../../challenge/execute.js';
import { ConfigError } from '../../solver/errors.js';
import { silentLogger } from '../../observability/logger.js';
import { findZoneBySoa } from '../../dns/client.js';
import { statusMessage, type KubeRest } from './kube.js';

export type Verdict = 'pass' | 'fail' | 'skip';
export type CheckId = 'issuer' | 'apiservice' | 'discovery' | 'cert-manager-rbac' | 'secret-access' | 'config' | 'zone' | 'provider';

export interface CheckResult {
  id: CheckId;
  verdict: Verdict;
  message: string;
  /** What to change, for a failure. */
  fix?: string;
}

export interface IssuerRef {
  kind: 'Issuer' | 'ClusterIssuer';
  name: string;
  namespace?: string;
}

export interface WebhookSolverRef {
  issuer: IssuerRef;
  /** Index in spec.acme.solvers. */
  index: number;
  groupName: string;
  solverName: string;
  config: unknown;
  /** Where the webhook reads this Issuer's Secrets: its namespace, or the cluster resource namespace. */
  resourceNamespace: string;
}

const pass = (id: CheckId, message: string): CheckResult => ({ id, verdict: 'pass', message });
const fail = (id: CheckId, message: string, fix: string): CheckResult => ({ id, verdict: 'fail', message, fix });
const skip = (id: CheckId, message: string): CheckResult => ({ id, verdict: 'skip', message });
const enc = encodeURIComponent;

// ---- issuers --------------------------------------------------------------------------------------------------

interface IssuerObject {
  kind?: string;
  metadata: { name: string; namespace?: string };
  spec?: { acme?: { solvers?: Array<{ dns01?: { webhook?: { groupName?: string; solverName?: string; config?: unknown } } }> } };
}

export function webhookSolversOf(issuer: IssuerObject, ref: IssuerRef, clusterResourceNamespace: string): WebhookSolverRef[] {
  const solvers = issuer.spec?.acme?.solvers ?? [];
  const out: WebhookSolverRef[] = [];
  solvers.forEach((s, index) => {
    const w = s.dns01?.webhook;
    if (!w?.groupName || !w.solverName) return;
    out.push({
      issuer: ref,
      index,
      groupName: w.groupName,
      solverName: w.solverName,
      config: w.config,
      resourceNamespace: ref.kind === 'ClusterIssuer' ? clusterResourceNamespace : ref.namespace!,
    });
  });
  return out;
}

/** The named Issuer/ClusterIssuer, or every one in the cluster; a failure explains what is missing. */
export async function loadIssuers(
  kube: KubeRest,
  wanted: IssuerRef | undefined,
): Promise<{ issuers: Array<{ ref: IssuerRef; object: IssuerObject }>; problem?: CheckResult }> {
  const base = '/apis/cert-manager.io/v1';
  if (wanted) {
    const path = wanted.kind === 'ClusterIssuer' ? `${base}/clusterissuers/${enc(wanted.name)}` : `${base}/namespaces/${enc(wanted.namespace!)}/issuers/${enc(wanted.name)}`;
    const res = await kube.get(path);
    const what = wanted.kind === 'ClusterIssuer' ? `ClusterIssuer ${wanted.name}` : `Issuer ${wanted.namespace}/${wanted.name}`;
    if (res.status === 200) return { issuers: [{ ref: wanted, object: res.body as IssuerObject }] };
    if (res.status === 404) {
      const crd = await kube.get(`/apis/cert-manager.io/v1`);
      if (crd.status === 404) return { issuers: [], problem: fail('issuer', 'cert-manager.io/v1 is not served: cert-manager is not installed in this cluster', 'install cert-manager (its CRDs) first') };
      return { issuers: [], problem: fail('issuer', `${what} not found`, `check the name${wanted.kind === 'Issuer' ? ' and --namespace' : ''}: kubectl get ${wanted.kind.toLowerCase()}s${wanted.kind === 'Issuer' ? ' -A' : ''}`) };
    }
    return { issuers: [], problem: fail('issuer', `cannot read ${what}: ${statusMessage(res)}`, 'use a kubeconfig that may read cert-manager Issuers') };
  }
  const found: Array<{ ref: IssuerRef; object: IssuerObject }> = [];
  for (const [kind, path] of [['ClusterIssuer', `${base}/clusterissuers`], ['Issuer', `${base}/issuers`]] as const) {
    const res = await kube.get(path);
    if (res.status === 404) return { issuers: [], problem: fail('issuer', 'cert-manager.io/v1 is not served: cert-manager is not installed in this cluster', 'install cert-manager (its CRDs) first') };
    if (res.status !== 200) return { issuers: [], problem: fail('issuer', `cannot list ${kind}s: ${statusMessage(res)}`, 'use a kubeconfig that may list cert-manager Issuers, or name one with --issuer/--cluster-issuer') };
    for (const o of (res.body as { items?: IssuerObject[] }).items ?? []) {
      found.push({ ref: { kind, name: o.metadata.name, ...(kind === 'Issuer' ? { namespace: o.metadata.namespace! } : {}) }, object: o });
    }
  }
  return { issuers: found };
}

// ---- APIService and discovery -----------------------------------------------------------------------------------

interface ApiServiceObject {
  spec?: { service?: { namespace?: string; name?: string }; caBundle?: string; insecureSkipTLSVerify?: boolean };
  status?: { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> };
}

function apiServiceFix(reason: string | undefined, message: string, service: string, emptyCaBundle: boolean): string {
  const ca = emptyCaBundle ? ' Its spec.caBundle is empty: cert-manager\'s cainjector has not filled it (is cainjector running? pki.enabled), or set apiService.caBundle.' : '';
  switch (reason) {
    case 'ServiceNotFound':
      return `the Service ${service} it points at does not exist: install the chart in that namespace (or fix the APIService's spec.service).${ca}`;
    case 'MissingEndpoints':
    case 'EndpointsNotFound':
      return `no ready webhook pod behind Service ${service}: kubectl -n ${service.split('/')[0]} get pods,endpoints (crash loop? image pull? readiness probe?).${ca}`;
    case 'FailedDiscoveryCheck':
      if (/x509|certificate|tls/i.test(message)) return `kube-apiserver does not trust the webhook's serving certificate: the caBundle must be the CA that signed it (cainjector, or apiService.caBundle).${ca}`;
      return `kube-apiserver cannot reach the webhook through Service ${service}: check the pods are Ready, a NetworkPolicy lets kube-apiserver in (networkPolicy.httpsFrom), and the port.${ca}`;
    default:
      return `kubectl describe apiservice and the webhook pods' logs in ${service.split('/')[0]}.${ca}`;
  }
}

export async function checkApiService(kube: KubeRest, groupName: string): Promise<{ result: CheckResult; service?: { namespace: string; name: string } }> {
  const name = `v1alpha1.${groupName}`;
  const res = await kube.get(`/apis/apiregistration.k8s.io/v1/apiservices/${enc(name)}`);
  if (res.status === 404) {
    return { result: fail('apiservice', `APIService ${name} does not exist`, `install the webhook chart with --set groupName=${groupName} (the Issuer's groupName must equal the chart's)`) };
  }
  if (res.status !== 200) return { result: fail('apiservice', `cannot read APIService ${name}: ${statusMessage(res)}`, 'use a kubeconfig that may read APIServices') };
  const obj = res.body as ApiServiceObject;
  const svc = obj.spec?.service;
  const service = svc?.namespace && svc.name ? { namespace: svc.namespace, name: svc.name } : undefined;
  const serviceText = service ? `${service.namespace}/${service.name}` : '(none: a local APIService)';
  const available = obj.status?.conditions?.find((c) => c.type === 'Available');
  if (available?.status === 'True') return { result: pass('apiservice', `APIService ${name} is Available (Service ${serviceText})`), ...(service ? { service } : {}) };
  const reason = available?.reason;
  const message = available?.message ?? 'no Available condition yet';
  const emptyCa = !obj.spec?.caBundle && obj.spec?.insecureSkipTLSVerify !== true;
  return {
    result: fail('apiservice', `APIService ${name} is not Available: ${reason ?? 'Unknown'}: ${message}`, apiServiceFix(reason, message, serviceText, emptyCa)),
    ...(service ? { service } : {}),
  };
}

export async function checkDiscovery(kube: KubeRest, groupName: string, solverName: string): Promise<CheckResult> {
  const res = await kube.get(`/apis/${enc(groupName)}/v1alpha1`);
  if (res.status !== 200) {
    return fail('discovery', `GET /apis/${groupName}/v1alpha1 answered: ${statusMessage(res)}`, 'the webhook does not answer discovery: check its logs');
  }
  const served = ((res.body as { resources?: Array<{ name: string }> }).resources ?? []).map((r) => r.name).filter((n) => !n.includes('/'));
  if (served.includes(solverName)) return pass('discovery', `the webhook serves solver "${solverName}" (of: ${served.join(', ')})`);
  return fail(
    'discovery',
    `the webhook serves ${served.length ? served.map((s) => `"${s}"`).join(', ') : 'no solver'}, not "${solverName}"`,
    `enable it (chart: solvers.enabled or solvers.extraPackages; CLI: --solver-packages), or fix solverName in the Issuer (it is case-sensitive)`,
  );
}

// ---- RBAC -----------------------------------------------------------------------------------------------------

interface Subject {
  user: string;
  groups: string[];
}

export const serviceAccountSubject = (namespace: string, name: string): Subject => ({
  user: `system:serviceaccount:${namespace}:${name}`,
  groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
});

async function allowed(kube: KubeRest, subject: Subject, attributes: Record<string, string>): Promise<{ allowed: boolean; reason?: string; error?: string }> {
  const res = await kube.post('/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: { user: subject.user, groups: subject.groups, resourceAttributes: attributes },
  });
  if (res.status !== 201 && res.status !== 200) return { allowed: false, error: statusMessage(res) };
  const status = (res.body as { status?: { allowed?: boolean; denied?: boolean; reason?: string } }).status ?? {};
  return { allowed: status.allowed === true && status.denied !== true, ...(status.reason ? { reason: status.reason } : {}) };
}

export async function checkCertManagerRbac(kube: KubeRest, s: WebhookSolverRef, cm: { namespace: string; serviceAccount: string }): Promise<CheckResult> {
  const subject = serviceAccountSubject(cm.namespace, cm.serviceAccount);
  const review = await allowed(kube, subject, { verb: 'create', group: s.groupName, version: 'v1alpha1', resource: s.solverName });
  const who = `cert-manager's ServiceAccount ${cm.namespace}/${cm.serviceAccount}`;
  if (review.error) return fail('cert-manager-rbac', `cannot ask kube-apiserver (SubjectAccessReview): ${review.error}`, 'use a kubeconfig that may create SubjectAccessReviews');
  if (review.allowed) return pass('cert-manager-rbac', `${who} may create ${s.solverName}.${s.groupName}`);
  return fail(
    'cert-manager-rbac',
    `${who} may not create ${s.solverName}.${s.groupName}: cert-manager's calls will fail with 403 Forbidden`,
    `the chart binds its "domain-solver" ClusterRole to certManager.namespace/certManager.serviceAccountName: helm upgrade ... --set certManager.namespace=${cm.namespace} --set certManager.serviceAccountName=${cm.serviceAccount} (or pass --cert-manager-namespace/--cert-manager-service-account here if cert-manager runs elsewhere)`,
  );
}

/** The ServiceAccount the webhook pods run as: from the APIService's Service → its selector → a Deployment. */
export async function findWebhookServiceAccount(kube: KubeRest, service: { namespace: string; name: string }): Promise<{ namespace: string; name: string } | undefined> {
  const svc = await kube.get(`/api/v1/namespaces/${enc(service.namespace)}/services/${enc(service.name)}`);
  const selector = (svc.body as { spec?: { selector?: Record<string, string> } })?.spec?.selector;
  if (svc.status !== 200 || !selector || Object.keys(selector).length === 0) return undefined;
  const deployments = await kube.get(`/apis/apps/v1/namespaces/${enc(service.namespace)}/deployments`);
  if (deployments.status !== 200) return undefined;
  for (const d of (deployments.body as { items?: Array<{ spec?: { template?: { metadata?: { labels?: Record<string, string> }; spec?: { serviceAccountName?: string } } } }> }).items ?? []) {
    const labels = d.spec?.template?.metadata?.labels ?? {};
    if (Object.entries(selector).every(([k, v]) => labels[k] === v)) {
      return { namespace: service.namespace, name: d.spec?.template?.spec?.serviceAccountName || 'default' };
    }
  }
  return undefined;
}

/** Every `{name, key}` object in a config: the Secret references the webhook will read. */
export function secretRefsOf(config: unknown, path = 'config'): Array<{ path: string; name: string; key: string }> {
  if (typeof config !== 'object' || config === null) return [];
  const o = config as Record<string, unknown>;
  const keys = Object.keys(o);
  if (typeof o.name === 'string' && typeof o.key === 'string' && keys.every((k) => k === 'name' || k === 'key')) return [{ path, name: o.name, key: o.key }];
  return keys.flatMap((k) => secretRefsOf(o[k], `${path}.${k}`));
}

export async function checkSecretAccess(
  kube: KubeRest,
  s: WebhookSolverRef,
  webhookSa: { namespace: string; name: string } | undefined,
): Promise<CheckResult[]> {
  const refs = secretRefsOf(s.config);
  if (refs.length === 0) return [pass('secret-access', 'the config names no Secret')];
  const where = s.issuer.kind === 'ClusterIssuer' ? `cert-manager's cluster resource namespace "${s.resourceNamespace}" (a ClusterIssuer's Secrets live there)` : `the Issuer's namespace "${s.resourceNamespace}"`;
  const results: CheckResult[] = [];
  for (const ref of refs) {
    const secret = `Secret ${s.resourceNamespace}/${ref.name} (${ref.path})`;
    if (!webhookSa) {
      results.push(fail('secret-access', `${secret}: could not find the webhook's ServiceAccount (no Deployment behind the APIService's Service)`, 'pass --webhook-service-account <namespace>/<name>'));
      continue;
    }
    const review = await allowed(kube, serviceAccountSubject(webhookSa.namespace, webhookSa.name), { verb: 'get', version: 'v1', resource: 'secrets', namespace: s.resourceNamespace, name: ref.name });
    if (review.error) {
      results.push(fail('secret-access', `cannot ask kube-apiserver (SubjectAccessReview): ${review.error}`, 'use a kubeconfig that may create SubjectAccessReviews'));
      continue;
    }
    if (!review.allowed) {
      results.push(fail(
        'secret-access',
        `the webhook (ServiceAccount ${webhookSa.namespace}/${webhookSa.name}) may not get ${secret}`,
        `let the chart read Secrets in ${s.resourceNamespace}: helm upgrade ... --set 'secrets.namespaces={${s.resourceNamespace}}' (or add the name to secrets.resourceNames when that list is used); Secrets are read from ${where}`,
      ));
      continue;
    }
    // Exists, and has the key? Only names and key names are ever shown.
    const res = await kube.get(`/api/v1/namespaces/${enc(s.resourceNamespace)}/secrets/${enc(ref.name)}`);
    if (res.status === 404) {
      const elsewhere = await kube.get(`/api/v1/secrets?fieldSelector=${enc(`metadata.name=${ref.name}`)}`);
      const namespaces = elsewhere.status === 200 ? ((elsewhere.body as { items?: Array<{ metadata: { namespace: string } }> }).items ?? []).map((i) => i.metadata.namespace) : [];
      results.push(fail(
        'secret-access',
        `${secret} does not exist${namespaces.length ? ` (a Secret of that name exists in: ${namespaces.join(', ')})` : ''}`,
        `create it in ${s.resourceNamespace}: Secrets are read from ${where}, never from another namespace`,
      ));
    } else if (res.status !== 200) {
      results.push(pass('secret-access', `the webhook may get ${secret} (this kubeconfig cannot read it to check the key: ${statusMessage(res)})`));
    } else {
      const keys = Object.keys((res.body as { data?: Record<string, string> }).data ?? {});
      if (keys.includes(ref.key)) results.push(pass('secret-access', `the webhook may get ${secret}, and it has key "${ref.key}"`));
      else results.push(fail('secret-access', `${secret} has no key "${ref.key}" (its keys: ${keys.join(', ') || 'none'})`, `fix ${ref.path}.key, or add the key to the Secret`));
    }
  }
  return results;
}

// ---- config, zone, provider --------------------------------------------------------------------------------------

export function checkConfig(solver: Solver<any> | undefined, s: WebhookSolverRef, known: string[]): CheckResult {
  if (!solver) {
    return skip('config', `solver "${s.solverName}" is not one this CLI has (${known.join(', ')}): pass --solver-packages to validate its config`);
  }
  try {
    validateConfig(solver, s.config);
    return pass('config', `the config is valid for solver "${s.solverName}"`);
  } catch (err) {
    if (err instanceof ConfigError) return fail('config', `the Issuer's webhook.config is invalid: ${err.message.replace(/^invalid config: /, '')}`, 'fix the named field(s) in the Issuer\'s dns01.webhook.config');
    throw err;
  }
}

export async function checkZone(fqdn: string, nameserver: string): Promise<{ result: CheckResult; zone?: string }> {
  try {
    const walk = await findZoneBySoa(fqdn, { server: nameserver, timeoutMs: 5000 });
    if (!walk.zone) {
      return { result: fail('zone', `no SOA found for ${fqdn} or any parent via ${nameserver} (asked: ${walk.steps.map((s) => `${s.name} ${s.rcode}`).join(', ')})`, 'the domain is not delegated (yet), or --nameserver is not a resolver that sees it') };
    }
    return { result: pass('zone', `cert-manager's SOA walk via ${nameserver} finds zone ${walk.zone} for ${fqdn}`), zone: walk.zone };
  } catch (err) {
    return { result: fail('zone', `SOA walk for ${fqdn} via ${nameserver} failed: ${(err as Error).message}`, 'check --nameserver (cert-manager uses its --dns01-recursive-nameservers, else the pod\'s resolv.conf)') };
  }
}

export interface ProbeAccess {
  secretsFor: (namespace: string) => SecretReader;
  serviceAccountTokensFor?: (namespace: string) => ServiceAccountTokenSource;
}

/** Runs the solver's read-only `check` through the executor (deadline, secret redaction) and compares zones. */
export async function checkProvider(solver: Solver<any>, s: WebhookSolverRef, fqdn: string, zone: string | undefined, access: ProbeAccess, timeoutMs: number): Promise<CheckResult> {
  if (!solver.check) return skip('provider', `solver "${s.solverName}" has no read-only check`);
  let found: SolverCheck | undefined;
  const probe: Solver<any> = { ...solver, present: async (req, ctx) => void (found = await solver.check!(req, ctx)) };
  const request: ChallengeRequest = {
    uid: randomUUID(),
    action: 'Present',
    type: 'dns-01',
    dnsName: fqdn.replace(/^_acme-challenge\./, '').replace(/\.$/, ''),
    key: 'dns01-webhook-doctor',
    resourceNamespace: s.resourceNamespace,
    resolvedFQDN: fqdn,
    resolvedZone: zone ?? fqdn.replace(/^_acme-challenge\./, ''),
    allowAmbientCredentials: s.issuer.kind === 'ClusterIssuer',
    config: s.config,
  };
  const outcome = await executeChallenge(probe, request, { ...access, log: silentLogger(), timeoutMs });
  if (!outcome.success) {
    const message = outcome.message.replace(`${solver.name}: Present ${fqdn} failed: `, '');
    return fail('provider', `a read-only call with the Issuer's credentials failed: ${message}`, 'fix the credentials (or their permissions) the config names; the message above is the provider\'s');
  }
  const result = found!;
  if (zone && result.zone && result.zone.toLowerCase() !== zone.toLowerCase()) {
    return fail(
      'provider',
      `the provider holds ${fqdn} in zone ${result.zone}, but cert-manager's SOA walk finds zone ${zone}: the TXT record would be written where resolvers do not look`,
      `make DNS delegate ${zone} to the provider (or remove the stale delegation), or use a solver/credentials for the server that hosts ${zone}`,
    );
  }
  return pass('provider', `credentials work: ${result.detail}${zone && result.zone ? ` — matches the SOA walk` : ''}`);
}
