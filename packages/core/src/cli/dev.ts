/**
 * `dns01-webhook dev` (what `npm start` runs): the embedded DNS server over an in-memory zone plus the webhook
 * server with the `memory` solver, self-signed TLS and authentication OFF — a complete local loop to try the
 * protocol with curl and dig. Never for a cluster.
 */
import { randomBytes } from 'node:crypto';
import { startDnsServer, type DnsServer } from '../dns/server.js';
import { createMemoryStore, memorySolver } from '../solvers/memory.js';
import { SolverRegistry } from '../solver/registry.js';
import { mapSecrets } from '../secrets/static.js';
import { createLogger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { toFqdn, unFqdn } from '../solver/names.js';
import type { Logger } from '../solver/contract.js';
import { EXIT, logLevel, parseFlags, port, UsageError } from './usage.js';

export const DEV_HELP = `Usage: dns01-webhook dev [--dns-port 5353] [--port 8443] [--group acme.example.test] [--zone example.test.]

Local playground: an authoritative DNS server over an in-memory zone, and the webhook server with the
"memory" solver, self-signed TLS and authentication OFF. Prints curl and dig commands to try it.

  --dns-port <n>     DNS (UDP+TCP) port on 127.0.0.1 (default 5353; 0 = any free port)
  --port <n>         HTTPS port on 127.0.0.1 (default 8443; 0 = any free port)
  --group <name>     groupName (default acme.example.test)
  --zone <zone>      the served zone (default example.test.)
  --log-level <lvl>  log level on stderr (default info)

A taken default port falls back to a free one (the printed commands show which).
Stop with Ctrl-C (SIGINT) or SIGTERM.`;

const FLAGS = {
  'dns-port': { type: 'string' },
  port: { type: 'string' },
  group: { type: 'string' },
  zone: { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const HOST = '127.0.0.1';
const GROUP = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/;

const isAddrInUse = (err: unknown) =>
  (err as NodeJS.ErrnoException)?.code === 'EADDRINUSE' || /EADDRINUSE|already in use/.test(String((err as Error)?.message));

/** Tries the requested port; when a default port is taken, falls back to a free one and says so. */
async function withFallback<T>(what: string, requested: number, isDefault: boolean, log: Logger, notes: string[], start: (port: number) => Promise<T>): Promise<T> {
  try {
    return await start(requested);
  } catch (err) {
    if (!isDefault || requested === 0 || !isAddrInUse(err)) throw err;
    const note = `${what} port ${requested} is taken; using a free port instead (pass --${what === 'DNS' ? 'dns-port' : 'port'} to choose)`;
    log.warn({ port: requested }, note);
    notes.push(note);
    return start(0);
  }
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function devInstructions(o: { url: string; group: string; fqdn: string; zone: string; key: string; dnsPort: number; notes?: string[] }): string {
  const endpoint = `${o.url}/apis/${o.group}/v1alpha1/memory`;
  const payload = (action: 'Present' | 'CleanUp') =>
    JSON.stringify({
      apiVersion: 'webhook.acme.cert-manager.io/v1alpha1',
      kind: 'ChallengePayload',
      request: {
        uid: 'dev-1',
        action,
        type: 'dns-01',
        dnsName: unFqdn(o.fqdn).replace(/^_acme-challenge\./, ''),
        key: o.key,
        resourceNamespace: 'default',
        resolvedFQDN: o.fqdn,
        resolvedZone: o.zone,
        allowAmbientCredentials: false,
        config: {},
      },
    });
  const curl = (action: 'Present' | 'CleanUp') =>
    `curl -ksS -X POST ${endpoint} -H 'Content-Type: application/json' -d ${shellQuote(payload(action))}`;
  return [
    '',
    'dns01-webhook dev mode is ready (authentication OFF, self-signed TLS — never expose this).',
    `  webhook: ${o.url}  (groupName ${o.group}, solver "memory")`,
    `  dns:     ${HOST}:${o.dnsPort}  (authoritative for ${o.zone}, UDP and TCP)`,
    ...(o.notes ?? []).map((n) => `  note:    ${n}`),
    '',
    'Present a TXT record:',
    `  ${curl('Present')}`,
    '',
    'See it in DNS:',
    `  dig @${HOST} -p ${o.dnsPort} TXT ${unFqdn(o.fqdn)} +short`,
    `  npx dns01-webhook check --nameserver ${HOST}:${o.dnsPort} --fqdn ${o.fqdn} --key ${o.key}`,
    '',
    'Clean it up:',
    `  ${curl('CleanUp')}`,
    '',
    'Stop with Ctrl-C.',
    '',
  ].join('\n');
}

export async function runDev(argv: string[]): Promise<number> {
  const values = parseFlags('dev', argv, FLAGS);
  if (values.help) {
    process.stdout.write(`${DEV_HELP}\n`);
    return EXIT.ok;
  }
  const dnsPort = port('dev', 'dns-port', values['dns-port'], 5353);
  const httpsPort = port('dev', 'port', values.port, 8443);
  const group = (values.group ?? 'acme.example.test').toLowerCase();
  if (!GROUP.test(group)) throw new UsageError(`--group "${values.group}" must be a DNS name with at least one dot, e.g. acme.example.test`, 'dev');
  const zone = toFqdn(values.zone ?? 'example.test.');
  if (zone === '.') throw new UsageError('--zone must not be the root zone', 'dev');
  const log = createLogger({ level: logLevel('dev', values['log-level'], 'info'), destination: process.stderr });

  // The server engineer's module; imported here so the other commands start without loading it.
  const { createWebhookServer } = await import('../server/index.js');

  const store = createMemoryStore([zone]);
  const registry = new SolverRegistry();
  registry.register(memorySolver(store), 'dev mode');

  const notes: string[] = [];
  const dns: DnsServer = await withFallback('DNS', dnsPort, values['dns-port'] === undefined, log, notes, (p) =>
    startDnsServer({ source: store, host: HOST, port: p, ttl: 5 }),
  );
  log.info({ address: dns.address, zone }, 'embedded DNS server listening');

  let webhook: ReturnType<typeof createWebhookServer> | undefined;
  const listening = await withFallback('HTTPS', httpsPort, values.port === undefined, log, notes, async (p) => {
    webhook = createWebhookServer({
      groupName: group,
      registry,
      secretsFor: mapSecrets({}),
      log,
      metrics: new Metrics(),
      tls: { selfSigned: ['localhost', HOST] },
      bindAddress: HOST,
      port: p,
    });
    try {
      return await webhook.listen();
    } catch (err) {
      await webhook.close(0).catch(() => undefined);
      throw err;
    }
  }).catch(async (err) => {
    await dns.close();
    throw err;
  });
  log.warn({}, 'DEV MODE: authentication is OFF and TLS is self-signed; anyone who can reach this port can change DNS records');

  const fqdn = `_acme-challenge.${zone}`;
  process.stdout.write(
    devInstructions({ url: `https://${HOST}:${listening.port}`, group, fqdn, zone, key: randomBytes(32).toString('base64url'), dnsPort: dns.port, notes }),
  );

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping dev mode');
      void Promise.allSettled([webhook!.close(2000), dns.close()]).then(() => resolve(EXIT.ok));
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
