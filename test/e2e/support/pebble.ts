/**
 * Pebble, Let's Encrypt's test ACME server (installed by test/e2e/install/pebble.sh), as a test fixture.
 *
 * It runs with its own config in a temp dir: listeners on 127.0.0.1 free ports, a serving certificate from a
 * CA made here (the Debian package ships no test certs), and `-dnsserver` pointed at an emulator's
 * authoritative DNS so DNS-01 is validated against the TXT records our solvers write. PEBBLE_VA_ALWAYS_VALID
 * is removed from the environment: Pebble must really look the records up.
 *
 *   const pebble = await startPebble({ dnsServer: emulator.dns.address });
 *   const root = await pebble.rootPem();
 *   await pebble.stop();
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createCA, issueCertificate } from '@dns01-webhook/core/testing';
import { binary } from '../cluster/cluster.js';
import { httpsGet } from '../cluster/https.js';
import { freePort, spawnManaged, waitUntil, type ManagedProcess } from '../cluster/processes.js';

const exec = promisify(execFile);

export interface PebbleOptions {
  /** Where Pebble resolves `_acme-challenge.<domain>` TXT records: `host:port` (UDP, TCP fallback). */
  dnsServer: string;
  /** Extra environment (e.g. PEBBLE_CHAIN_LENGTH); the deterministic defaults below are applied first. */
  env?: Record<string, string>;
  /** Time Pebble gets to serve its directory. Default 20 s. */
  startTimeoutMs?: number;
}

export interface RunningPebble {
  /** ACME directory URL (https://127.0.0.1:<port>/dir). */
  directoryUrl: string;
  /** Management interface base URL (https://127.0.0.1:<port>). */
  managementUrl: string;
  /** CA that signed Pebble's HTTPS serving certificate: trust it to talk ACME (not the issuing root). */
  tlsCaPem: string;
  /** Pebble's package version as dpkg reports it (pebble has no --version flag), or 'unknown'. */
  version: string;
  process: ManagedProcess;
  /** GET on the management interface (`/roots/0`, `/intermediates/0`, ...), the body as text. */
  management(path: string): Promise<string>;
  /** The root CA of issued certificates (changes with every Pebble start). */
  rootPem(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Environment for a deterministic Pebble: no random validation sleep, no rejected nonces, no reused
 * authorizations (each order must be validated over DNS, not satisfied by an earlier test's authz).
 */
export const PEBBLE_ENV: Readonly<Record<string, string>> = {
  PEBBLE_VA_NOSLEEP: '1',
  PEBBLE_WFE_NONCEREJECT: '0',
  PEBBLE_AUTHZREUSE: '0',
};

export async function pebbleVersion(): Promise<string> {
  try {
    const { stdout } = await exec('dpkg-query', ['-W', '-f=${Version}', 'pebble']);
    return stdout.trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function startPebble(options: PebbleOptions): Promise<RunningPebble> {
  const dir = mkdtempSync(join(tmpdir(), 'dns01-pebble-'));
  const tlsCa = await createCA('dns01-e2e-pebble-tls-ca', { validDays: 1 });
  const serving = await issueCertificate(tlsCa, { commonName: 'pebble', dnsNames: ['localhost', 'pebble'], ipAddresses: ['127.0.0.1'], usage: 'server', validDays: 1 });
  writeFileSync(join(dir, 'cert.pem'), serving.certPem);
  writeFileSync(join(dir, 'key.pem'), serving.keyPem, { mode: 0o600 });
  const [acmePort, managementPort] = [await freePort(), await freePort()];
  const configFile = join(dir, 'pebble-config.json');
  writeFileSync(configFile, JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${managementPort}`,
      certificate: join(dir, 'cert.pem'),
      privateKey: join(dir, 'key.pem'),
      // Only used as targets of http-01 / tls-alpn-01 validation, which these tests never ask for.
      httpPort: 5002,
      tlsPort: 5001,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
    },
  }, null, 2));

  const env: NodeJS.ProcessEnv = { ...process.env, ...PEBBLE_ENV, ...options.env };
  delete env.PEBBLE_VA_ALWAYS_VALID;
  // -strict: Pebble's upcoming breaking changes on, so the client's side of the protocol is checked as tightly as it can be.
  const proc = spawnManaged('pebble', binary('pebble'), ['-config', configFile, '-dnsserver', options.dnsServer, '-strict'], {
    logFile: join(dir, 'pebble.log'),
    env,
    cwd: dir,
  });
  const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
  const managementUrl = `https://127.0.0.1:${managementPort}`;
  const stop = async () => {
    await proc.stop(2000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil('pebble directory', async () => (await httpsGet(directoryUrl, { ca: tlsCa.certPem }, 5000)).status === 200, {
      timeoutMs: options.startTimeoutMs ?? 20_000,
      intervalMs: 200,
      proc,
    });
  } catch (err) {
    const log = proc.logTail();
    await stop();
    throw new Error(`${(err as Error).message}\n--- pebble log ---\n${log}`);
  }

  const management = async (path: string) => {
    const res = await httpsGet(`${managementUrl}${path}`, { ca: tlsCa.certPem }, 5000);
    if (res.status !== 200) throw new Error(`pebble management GET ${path}: HTTP ${res.status}: ${res.body.slice(0, 200)}`);
    return res.body;
  };
  return {
    directoryUrl,
    managementUrl,
    tlsCaPem: tlsCa.certPem,
    version: await pebbleVersion(),
    process: proc,
    management,
    rootPem: () => management('/roots/0'),
    stop,
  };
}
