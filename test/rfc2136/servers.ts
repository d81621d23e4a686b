/**
 * Real authoritative servers for the rfc2136 solver's tests: Debian's Knot DNS (knotd) and BIND 9 (named),
 * installed by test/install/dns-servers.sh. Each runs in a temp dir on a free port, serves `example.test.`
 * (updates allowed for one TSIG key per algorithm) and `locked.test.` (no updates allowed), and knows a
 * key `readonly.` that may update nothing. Every process dies with the test (spawnManaged's death signal).
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { querySoa } from '@dns01-webhook/core';
import { TSIG_ALGORITHMS, type TsigAlgorithm } from '@dns01-webhook/solver-rfc2136';
import { freePort, spawnManaged, waitUntil, type ManagedProcess } from '../e2e/cluster/processes.js';

export const ZONE = 'example.test.';
/** Served, but no key may update it. */
export const LOCKED_ZONE = 'locked.test.';
export const ALGORITHMS = Object.keys(TSIG_ALGORITHMS) as TsigAlgorithm[];

export interface TestKey {
  name: string;
  algorithm: TsigAlgorithm;
  /** base64, as it goes into the Kubernetes Secret. */
  secret: string;
}

export interface AuthoritativeServer {
  kind: 'knot' | 'bind';
  version: string;
  /** `host:port`, UDP and TCP. */
  address: string;
  /** Keys allowed to update ZONE, one per algorithm. */
  keys: Record<TsigAlgorithm, TestKey>;
  /** A key the server knows that may update nothing. */
  readonlyKey: TestKey;
  process: ManagedProcess;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Address to listen on (default 127.0.0.1); the e2e tier uses its test host's veth address. */
  host?: string;
  /** More zones to serve, updatable like ZONE (e.g. a sub-zone another server does not delegate). */
  extraZones?: string[];
  /** One fixed base64 secret for every key (default: a random one per key), for callers that must know it. */
  secret?: string;
}

const zoneFileName = (zone: string) => `${zone.replace(/\.$/, '')}.zone`;

const keyName = (algorithm: TsigAlgorithm) => `acme-${algorithm}.`;
const newSecret = () => randomBytes(32).toString('base64');

function makeKeys(fixed?: string): { keys: Record<TsigAlgorithm, TestKey>; readonlyKey: TestKey } {
  const secret = () => fixed ?? newSecret();
  const keys = Object.fromEntries(ALGORITHMS.map((algorithm) => [algorithm, { name: keyName(algorithm), algorithm, secret: secret() }])) as Record<TsigAlgorithm, TestKey>;
  return { keys, readonlyKey: { name: 'readonly.', algorithm: 'hmac-sha256', secret: secret() } };
}

function zoneFile(zone: string, host: string): string {
  return [
    `$ORIGIN ${zone}`,
    '$TTL 300',
    '@ SOA ns1 hostmaster 1 3600 600 86400 60',
    '@ NS ns1',
    `ns1 A ${host}`,
    '',
  ].join('\n');
}

/** A port free for both TCP and UDP right now (servers bind both on one port). */
async function freeUdpTcpPort(host: string): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await freePort(host);
    const udp = createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, host, () => resolve(true));
    });
    await new Promise<void>((r) => udp.close(() => r()));
    if (ok) return port;
  }
  throw new Error(`no port free for both TCP and UDP on ${host}`);
}

async function untilServing(proc: ManagedProcess, address: string): Promise<void> {
  await waitUntil(`${proc.name} serving ${ZONE} and ${LOCKED_ZONE} at ${address}`, async () => {
    const [a, b] = await Promise.all([querySoa(ZONE, { server: address, timeoutMs: 500 }), querySoa(LOCKED_ZONE, { server: address, timeoutMs: 500 })]);
    return a.authoritative && a.soa?.zone === ZONE && b.authoritative && b.soa?.zone === LOCKED_ZONE;
  }, { timeoutMs: 20_000, intervalMs: 100, proc });
}

/** What both servers are configured with: the address, the keys (`all` with the read-only one), the zones that take updates. */
interface ServerSetup {
  host: string;
  keys: Record<TsigAlgorithm, TestKey>;
  readonlyKey: TestKey;
  all: TestKey[];
  updatable: string[];
}

/**
 * Writes the zone files and starts `launch` on fresh ports until one binds (the free-port check has a small
 * race with other tests).
 */
async function startWithRetry(kind: 'knot' | 'bind', options: StartOptions, launch: (dir: string, port: number, setup: ServerSetup) => ManagedProcess) {
  const host = options.host ?? '127.0.0.1';
  const { keys, readonlyKey } = makeKeys(options.secret);
  const setup: ServerSetup = { host, keys, readonlyKey, all: [...Object.values(keys), readonlyKey], updatable: [ZONE, ...(options.extraZones ?? [])] };
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), `dns01-${kind}-`));
    const port = await freeUdpTcpPort(host);
    for (const zone of [...setup.updatable, LOCKED_ZONE]) writeFileSync(join(dir, zoneFileName(zone)), zoneFile(zone, host));
    const proc = launch(dir, port, setup);
    const address = `${host}:${port}`;
    try {
      await untilServing(proc, address);
      return { dir, address, proc, keys, readonlyKey };
    } catch (err) {
      lastError = err;
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  throw lastError;
}

export async function startKnot(options: StartOptions = {}): Promise<AuthoritativeServer> {
  const { dir, address, proc, keys, readonlyKey } = await startWithRetry('knot', options, (d, port, { host, keys, all, updatable }) => {
    mkdirSync(join(d, 'db'));
    writeFileSync(join(d, 'knot.conf'), [
      'server:',
      `    rundir: "${d}"`,
      `    listen: ${host}@${port}`,
      '    udp-workers: 1',
      '    tcp-workers: 1',
      '    background-workers: 1',
      'log:',
      '  - target: stderr',
      '    any: info',
      'database:',
      `    storage: "${d}/db"`,
      'key:',
      ...all.flatMap((k) => [`  - id: ${k.name}`, `    algorithm: ${k.algorithm}`, `    secret: ${k.secret}`]),
      'acl:',
      '  - id: acme-update',
      `    key: [${Object.values(keys).map((k) => k.name).join(', ')}]`,
      '    action: update',
      'template:',
      '  - id: default',
      `    storage: "${d}"`,
      '    zonefile-sync: -1',
      '    journal-content: changes',
      'zone:',
      ...updatable.flatMap((zone) => [`  - domain: ${zone}`, `    file: ${zoneFileName(zone)}`, '    acl: acme-update']),
      `  - domain: ${LOCKED_ZONE}`,
      `    file: ${zoneFileName(LOCKED_ZONE)}`,
      '',
    ].join('\n'));
    return spawnManaged('knotd', 'knotd', ['-c', join(d, 'knot.conf')], { logFile: join(d, 'knotd.log') });
  });
  const version = execFileSync('knotd', ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
  return server('knot', version, address, keys, readonlyKey, proc, dir);
}

export async function startBind(options: StartOptions = {}): Promise<AuthoritativeServer> {
  const { dir, address, proc, keys, readonlyKey } = await startWithRetry('bind', options, (d, port, { host, keys, all, updatable }) => {
    writeFileSync(join(d, 'named.conf'), [
      'options {',
      `  directory "${d}";`,
      `  pid-file "${d}/named.pid";`,
      `  session-keyfile "${d}/session.key";`,
      `  managed-keys-directory "${d}";`,
      `  listen-on port ${port} { ${host}; };`,
      '  listen-on-v6 { none; };',
      '  recursion no;',
      '  allow-query { any; };',
      '  dnssec-validation no;',
      '  notify no;',
      '};',
      'controls { };',
      ...all.map((k) => `key "${k.name}" { algorithm ${k.algorithm}; secret "${k.secret}"; };`),
      ...updatable.map((zone) => `zone "${zone}" { type primary; file "${zoneFileName(zone)}"; allow-update { ${Object.values(keys).map((k) => `key "${k.name}";`).join(' ')} }; };`),
      `zone "${LOCKED_ZONE}" { type primary; file "${zoneFileName(LOCKED_ZONE)}"; };`,
      '',
    ].join('\n'));
    // -g: foreground, logs to stderr; -n 1: one worker thread (a shared 2-core machine).
    return spawnManaged('named', 'named', ['-g', '-n', '1', '-4', '-c', join(d, 'named.conf')], { logFile: join(d, 'named.log') });
  });
  const version = execFileSync('named', ['-v'], { encoding: 'utf8' }).trim();
  return server('bind', version, address, keys, readonlyKey, proc, dir);
}

function server(kind: 'knot' | 'bind', version: string, address: string, keys: Record<TsigAlgorithm, TestKey>, readonlyKey: TestKey, proc: ManagedProcess, dir: string): AuthoritativeServer {
  return {
    kind,
    version,
    address,
    keys,
    readonlyKey,
    process: proc,
    async stop() {
      await proc.stop();
      if (process.env.DNS01_KEEP_DNS_SERVERS !== '1') rmSync(dir, { recursive: true, force: true });
    },
  };
}
