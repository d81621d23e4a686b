/**
 * `dns01-webhook present|cleanup`: runs one challenge in-process through executeChallenge — the same code path
 * the server takes — so a solver and its credentials can be tried without cert-manager or a cluster.
 */
import { readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import type { ChallengeRequest, SecretReader, ServiceAccountTokenSource } from '../solver/contract.js';
import { executeChallenge, DEFAULT_CHALLENGE_TIMEOUT_MS } from '../challenge/execute.js';
import { directorySecrets } from '../secrets/static.js';
import { createLogger } from '../observability/logger.js';
import { toFqdn, unFqdn } from '../solver/names.js';
import { loadSolverPackages, SolverRegistry } from '../solver/registry.js';
import { solverPackageList } from './solvers.js';
import { EXIT, logLevel, parseFlags, required, seconds, UsageError } from './usage.js';

export const CHALLENGE_HELP = `Usage: dns01-webhook present|cleanup --solver <name> --fqdn <fqdn> --zone <zone> --key <key> [options]

Runs one Present or CleanUp in this process, exactly as the webhook server would.

Required:
  --solver <name>              solverName, e.g. dnspod, route53, cloudflare
  --fqdn <fqdn>                resolvedFQDN, e.g. _acme-challenge.example.com.
  --zone <zone>                resolvedZone, e.g. example.com.
  --key <key>                  the TXT value
Options:
  --config <file.json>         the Issuer's webhook.config as a JSON file (default: no config)
  --namespace <ns>             resourceNamespace secrets are read from (default "default")
  --secrets-dir <dir>          read secrets from <dir>/<secret-name>/<key> files
  --kubeconfig <file>          read secrets from the cluster (default when no --secrets-dir:
                               in-cluster config, $KUBECONFIG or ~/.kube/config, loaded on first secret read)
  --solver-packages <a,b>      solver packages (npm names or paths to .mjs files);
                               default: ${solverPackageList(undefined).join(',')}
  --allow-ambient-credentials  let the solver use environment/instance credentials
  --timeout <s>                challenge deadline in seconds (default ${DEFAULT_CHALLENGE_TIMEOUT_MS / 1000})
  --log-level <level>          JSON logs on stderr (default error; warn shows provider retries)

Exit codes: 0 success, 1 the solver failed (message on stderr), 2 usage error.`;

const FLAGS = {
  solver: { type: 'string' },
  config: { type: 'string' },
  fqdn: { type: 'string' },
  zone: { type: 'string' },
  key: { type: 'string' },
  namespace: { type: 'string' },
  kubeconfig: { type: 'string' },
  'secrets-dir': { type: 'string' },
  'solver-packages': { type: 'string' },
  'allow-ambient-credentials': { type: 'boolean' },
  timeout: { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function readConfig(command: string, file: string | undefined): Promise<unknown> {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--config ${file}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, command);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--config ${file}: not valid JSON (${(err as Error).message}); expected the Issuer's webhook.config object`, command);
  }
}

/**
 * Cluster access for a challenge run from the CLI: secrets and ServiceAccount tokens, both bound to the
 * namespace. The kube client is created on first use: a solver that reads none (ambient credentials) needs no cluster.
 */
export async function kubeAccessFor(kubeconfig: string | undefined) {
  const [{ createKubeClient }, { kubeSecrets }] = await Promise.all([import('../kube/client.js'), import('../secrets/kube.js')]);
  let client: ReturnType<typeof createKubeClient> | undefined;
  const kube = () => (client ??= createKubeClient(kubeconfig === undefined ? {} : { kubeconfig }));
  return {
    secretsFor: (namespace: string): SecretReader => ({
      namespace,
      get: (selector) => kubeSecrets(kube())(namespace).get(selector),
    }),
    serviceAccountTokensFor: (namespace: string): ServiceAccountTokenSource => ({
      createToken: (serviceAccount, options) => kube().createServiceAccountToken(namespace, serviceAccount, options),
    }),
  };
}

export async function runChallenge(command: 'present' | 'cleanup', argv: string[]): Promise<number> {
  const values = parseFlags(command, argv, FLAGS);
  if (values.help) {
    process.stdout.write(`${CHALLENGE_HELP}\n`);
    return EXIT.ok;
  }
  const solverName = required(command, values, 'solver', 'the solverName to run');
  const fqdn = toFqdn(required(command, values, 'fqdn', 'the TXT record name, e.g. _acme-challenge.example.com.'));
  const zone = toFqdn(required(command, values, 'zone', 'the zone that contains --fqdn, e.g. example.com.'));
  const key = required(command, values, 'key', 'the TXT value to present or clean up');
  if (fqdn !== zone && !fqdn.endsWith(`.${zone}`)) throw new UsageError(`--fqdn ${fqdn} is not inside --zone ${zone}`, command);
  if (values['secrets-dir'] !== undefined && values.kubeconfig !== undefined) {
    throw new UsageError('give either --secrets-dir or --kubeconfig, not both', command);
  }
  const timeoutS = seconds(command, 'timeout', values.timeout, DEFAULT_CHALLENGE_TIMEOUT_MS / 1000);
  const config = await readConfig(command, values.config);
  const namespace = values.namespace ?? 'default';
  const log = createLogger({ level: logLevel(command, values['log-level'], 'error'), destination: process.stderr });

  const explicit = values['solver-packages'] !== undefined;
  const packages = solverPackageList(values['solver-packages']);
  const registry = new SolverRegistry();
  const loadErrors: string[] = [];
  // Packages named on the command line must all load; of the defaults, only the one holding --solver matters.
  for (const pkg of packages) {
    try {
      await loadSolverPackages(registry, [pkg]);
    } catch (err) {
      if (explicit) {
        process.stderr.write(`error: ${(err as Error).message}\n`);
        return EXIT.failure;
      }
      loadErrors.push((err as Error).message);
    }
  }
  const solver = registry.get(solverName);
  if (!solver) {
    const why = loadErrors.length ? `; could not load: ${loadErrors.join('; ')}` : '';
    throw new UsageError(`--solver ${solverName}: no such solver; loaded: ${registry.names().join(', ') || '(none)'} (from ${packages.join(', ')})${why}`, command);
  }
  await solver.initialize?.({ log });

  const access =
    values['secrets-dir'] !== undefined ? { secretsFor: directorySecrets(values['secrets-dir']) } : await kubeAccessFor(values.kubeconfig);
  const request: ChallengeRequest = {
    uid: randomUUID(),
    action: command === 'present' ? 'Present' : 'CleanUp',
    type: 'dns-01',
    dnsName: unFqdn(fqdn).replace(/^_acme-challenge\./, ''),
    key,
    resourceNamespace: namespace,
    resolvedFQDN: fqdn,
    resolvedZone: zone,
    allowAmbientCredentials: values['allow-ambient-credentials'] === true,
    ...(config === undefined ? {} : { config }),
  };
  const started = Date.now();
  const outcome = await executeChallenge(solver, request, { ...access, log, timeoutMs: timeoutS * 1000 });
  if (!outcome.success) {
    process.stderr.write(`${outcome.message}\n`);
    return EXIT.failure;
  }
  process.stdout.write(`${request.action} ${fqdn} TXT "${key}": ok (solver ${solver.name}, ${Date.now() - started} ms)\n`);
  return EXIT.ok;
}
